"""``frozen_fraction``: synthetic clips that do not move, measured on the decoded clips."""

import numpy as np

from evaluation.metrics import metric
from evaluation.metrics.context import Context


@metric("frozen")
def frozen(ctx: Context):
    still = ctx.cfg.frozen_motion
    return [ctx.figure("frozen_fraction", np.mean(ctx.synthetic.motion < still),
                       f"share of synthetic clips whose motion (moving-pixel ratio) is below {still:g}",
                       {"synthetic": True}, reference=np.mean(ctx.test.motion < still),
                       bound="max", threshold=ctx.cfg.max_frozen_fraction)]  # fmt: skip
