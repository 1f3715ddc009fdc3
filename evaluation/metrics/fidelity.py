"""``label_fidelity``: the judge's accuracy on the synthetic clips against their intended labels, overall and per class."""

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import accuracy


@metric("fidelity")
def fidelity(ctx: Context):
    acc = ctx.judge.meta["test_accuracy"]
    overall, per_class = accuracy(ctx.synthetic_pred, ctx.synthetic.labels, ctx.n_classes)
    figures = [
        ctx.figure("label_fidelity", overall, "judge accuracy on the synthetic clips against their intended labels",
                   {"synthetic": True}, reference=acc, bound="min", threshold=ctx.cfg.min_label_fidelity),
        ctx.figure("label_fidelity_gap", acc - overall, "judge accuracy on real test clips minus label fidelity",
                   {"synthetic": True, "real_test": True}, reference=0.0),
    ]  # fmt: skip
    for c in ctx.present:
        figures.append(ctx.figure(
            f"label_fidelity__{ctx.names[c]}", per_class[c],
            f"judge accuracy on the synthetic clips of class '{ctx.names[c]}'", {"synthetic": int(ctx.synthetic_counts[c])},
            reference=ctx.judge.meta["test_class_accuracy"][c], bound="min", threshold=ctx.cfg.min_class_fidelity,
        ))  # fmt: skip
    return figures
