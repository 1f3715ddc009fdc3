"""``diversity_ratio``: within-class mean pairwise feature distance of the synthetic clips against the real test clips'."""

import numpy as np

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import mean_pairwise_distance


@metric("diversity")
def diversity(ctx: Context):
    syn_div = mean_pairwise_distance(ctx.synthetic.features, ctx.synthetic.labels, ctx.n_classes)
    real_div = mean_pairwise_distance(ctx.test.features, ctx.test.labels, ctx.n_classes)
    syn_counts, test_counts = ctx.synthetic_counts, ctx.test_counts
    measurable = [c for c in ctx.present if syn_counts[c] >= 2 and test_counts[c] >= 2]
    figures = []
    if measurable:
        figures.append(ctx.figure(
            "diversity_ratio", np.mean([syn_div[c] for c in measurable]) / np.mean([real_div[c] for c in measurable]),
            "mean within-class pairwise feature distance of the synthetic clips, as a share of the real test clips'",
            {"synthetic": True, "real_test": True}, reference=1.0,
        ))  # fmt: skip
    for c in measurable:
        figures.append(ctx.figure(
            f"diversity_ratio__{ctx.names[c]}", syn_div[c] / real_div[c] if real_div[c] > 0 else float("inf"),
            f"mean pairwise feature distance of the synthetic clips of class '{ctx.names[c]}', as a share of the real test clips'",
            {"synthetic": int(syn_counts[c]), "real_test": int(test_counts[c])}, reference=1.0,
            bound="min", threshold=ctx.cfg.min_diversity_ratio,
        ))  # fmt: skip
    return figures
