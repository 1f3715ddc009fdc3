"""``frozen_fraction``: synthetic clips that do not move, measured on the decoded clips, overall and per class.

Per class because a class can fail alone: a demo version passed with 30 of
its 32 ``wave`` clips frozen while the dataset-wide share stayed under the
threshold.
"""

import numpy as np

from evaluation.metrics import metric
from evaluation.metrics.context import Context


@metric("frozen")
def frozen(ctx: Context):
    still = ctx.cfg.frozen_motion
    syn, test = ctx.synthetic, ctx.test
    figures = [ctx.figure("frozen_fraction", np.mean(ctx.synthetic.motion < still),
                       f"share of synthetic clips whose motion (moving-pixel ratio) is below {still:g}",
                       {"synthetic": True}, reference=np.mean(ctx.test.motion < still),
                       bound="max", threshold=ctx.cfg.max_frozen_fraction)]  # fmt: skip
    for c in ctx.present:
        mine, theirs = syn.motion[syn.labels == c], test.motion[test.labels == c]
        figures.append(ctx.figure(
            f"frozen_fraction__{ctx.names[c]}", (mine < still).mean(),
            f"share of the synthetic clips of class '{ctx.names[c]}' whose motion is below {still:g}",
            {"synthetic": len(mine), "real_test": len(theirs)},
            reference=(theirs < still).mean() if len(theirs) else None,
            bound="max", threshold=ctx.cfg.max_frozen_fraction,
        ))  # fmt: skip
    return figures
