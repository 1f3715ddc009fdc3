"""``diversity_ratio``: within-class mean pairwise feature distance of the synthetic clips against the real test clips'.

Per class, against the same class's real test clips (BicycleGAN's diversity
score as a share of the real one): a class collapsed to one clip fails by name.
A class with fewer real test clips than ``min_test_clips_per_class`` has no
reference spread worth dividing by; its figure is reported as not measurable
(``Context.too_few_test_clips``), and the overall ratio leaves it out. A class
with fewer than two synthetic clips has no pairs, hence no figure.
"""

import numpy as np

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import mean_pairwise_distance


@metric("diversity")
def diversity(ctx: Context):
    syn_div = mean_pairwise_distance(ctx.synthetic.features, ctx.synthetic.labels, ctx.n_classes)
    real_div = mean_pairwise_distance(ctx.test.features, ctx.test.labels, ctx.n_classes)
    syn_counts, test_counts = ctx.synthetic_counts, ctx.test_counts
    per_class, measured = [], []
    for c in (c for c in ctx.present if syn_counts[c] >= 2):
        name = ctx.names[c]
        what = f"mean pairwise feature distance of the synthetic clips of class '{name}', as a share of the real test clips'"
        value = syn_div[c] / real_div[c] if real_div[c] > 0 else float("inf")
        if why := ctx.too_few_test_clips(c, at_least=2):  # a spread needs two clips
            value, what = None, f"{what}: {why}"
        else:
            measured.append(c)
        per_class.append(ctx.figure(
            f"diversity_ratio__{name}", value, what, {"synthetic": int(syn_counts[c]), "real_test": int(test_counts[c])},
            reference=1.0, bound="min", threshold=ctx.cfg.min_diversity_ratio,
        ))  # fmt: skip
    if not measured:
        return per_class
    overall = ctx.figure(
        "diversity_ratio", np.mean([syn_div[c] for c in measured]) / np.mean([real_div[c] for c in measured]),
        "mean within-class pairwise feature distance of the synthetic clips, as a share of the real test clips'"
        + ("" if len(measured) == len(per_class) else " (classes with enough real test clips)"),
        {"synthetic": int(sum(syn_counts[c] for c in measured)), "real_test": int(sum(test_counts[c] for c in measured))},
        reference=1.0,
    )  # fmt: skip
    return [overall, *per_class]
