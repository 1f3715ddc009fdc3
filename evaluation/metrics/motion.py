"""``motion_ratio``: mean motion of the decoded synthetic clips as a share of the decoded real test clips'.

Not the index's ``motion`` column, which is taken per clip on the raw pixels
before encoding (docs/architecture.md, "Two motion figures, two names").
"""

from evaluation.metrics import metric
from evaluation.metrics.context import Context, ratio


@metric("motion")
def motion(ctx: Context):
    return [ctx.figure("motion_ratio", ratio(ctx.synthetic.motion, ctx.test.motion),
                       "mean motion (moving-pixel ratio) of the synthetic clips, as a share of the real test clips'",
                       {"synthetic": True, "real_test": True}, reference=1.0, bound="min",
                       threshold=ctx.cfg.min_motion_ratio)]  # fmt: skip
