"""``motion_ratio``: mean motion of the decoded synthetic clips as a share of the decoded real test clips', overall and per class.

Per class, against the same class's real test clips: a class whose clips
do not move fails by name even when the others move enough to lift the mean.
A class with fewer real test clips than ``min_test_clips_per_class`` has no
reference worth dividing by; its figure is reported as not measurable
(``Context.too_few_test_clips``).

Not the index's ``motion`` column, which is taken per clip on the raw pixels
before encoding (docs/architecture.md, "Two motion figures, two names").
"""

from evaluation.metrics import metric
from evaluation.metrics.context import Context, ratio


@metric("motion")
def motion(ctx: Context):
    syn, test = ctx.synthetic, ctx.test
    figures = [ctx.figure("motion_ratio", ratio(ctx.synthetic.motion, ctx.test.motion),
                       "mean motion (moving-pixel ratio) of the synthetic clips, as a share of the real test clips'",
                       {"synthetic": True, "real_test": True}, reference=1.0, bound="min",
                       threshold=ctx.cfg.min_motion_ratio)]  # fmt: skip
    for c in ctx.present:
        name, mine, theirs = ctx.names[c], syn.motion[syn.labels == c], test.motion[test.labels == c]
        what = f"mean motion of the synthetic clips of class '{name}', as a share of its real test clips'"
        value, bound = ratio(mine, theirs), "min"
        if why := ctx.too_few_test_clips(c):
            value, what = None, f"{what}: {why}"
        elif theirs.mean() < ctx.cfg.frozen_motion:  # a still class: no motion to fall short of
            bound, what = None, f"{what}; its real clips do not move, so no motion is required"
        figures.append(ctx.figure(
            f"motion_ratio__{name}", value, what, {"synthetic": len(mine), "real_test": len(theirs)},
            reference=1.0, bound=bound, threshold=ctx.cfg.min_motion_ratio if bound else None,
        ))  # fmt: skip
    return figures
