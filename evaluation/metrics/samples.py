"""``real_test_clips_per_class``: whether the real test split is big enough for the figures compared against it.

Every ratio of the gate divides by the real test clips, and the judge's
accuracy is measured on them. With two clips of a class, one odd clip moves
a per-class share by half; such a set decides nothing, so the gate says so
by this figure's name (and the per-class figures of the small classes are
reported as not measurable) rather than passing or failing on noise.
"""

from evaluation.metrics import metric
from evaluation.metrics.context import Context


@metric("samples")
def samples(ctx: Context):
    classes = ctx.present or list(range(ctx.n_classes))
    fewest = min(classes, key=lambda c: ctx.test_counts[c])
    need = ctx.cfg.min_test_clips_per_class
    return [ctx.figure(
        "real_test_clips_per_class", int(ctx.test_counts[fewest]),
        f"fewest real test clips of a generated class (class '{ctx.names[fewest]}'); below {need} the figures "
        "compared against the real test clips (ratios, judge accuracy) are noise, so the set is too small to judge",
        {"real_test": True}, bound="min", threshold=need,
    )]  # fmt: skip
