"""``frozen_fraction``: synthetic clips that do not move, measured on the decoded clips, overall and per class.

Per class because a class can fail alone: a demo version passed with 30 of
its 32 ``wave`` clips frozen while the dataset-wide share stayed under the
threshold. With ``shares_over_real`` the threshold is a share above the real
test clips' own (``Context.share_limit``): a class whose real clips are often
still, like a box lying on a table, may be as still as they are; a class
with too few real test clips (``Context.too_few_test_clips``) keeps the
absolute threshold rather than one moved by a handful of clips.
"""

import numpy as np

from evaluation.metrics import metric
from evaluation.metrics.context import Context


@metric("frozen")
def frozen(ctx: Context):
    still = ctx.cfg.frozen_motion
    syn, test = ctx.synthetic, ctx.test
    limit, real_share = ctx.cfg.max_frozen_fraction, np.mean(ctx.test.motion < still)
    figures = [ctx.figure("frozen_fraction", np.mean(ctx.synthetic.motion < still),
                       f"share of synthetic clips whose motion (moving-pixel ratio) is below {still:g}",
                       {"synthetic": True}, reference=real_share,
                       bound="max", threshold=ctx.share_limit(limit, real_share))]  # fmt: skip
    for c in ctx.present:
        mine, theirs = syn.motion[syn.labels == c], test.motion[test.labels == c]
        real_share = (theirs < still).mean() if len(theirs) else None
        # the class's own real share moves its threshold only when enough real test clips measure it
        measured = None if ctx.too_few_test_clips(c) else real_share
        figures.append(ctx.figure(
            f"frozen_fraction__{ctx.names[c]}", (mine < still).mean(),
            f"share of the synthetic clips of class '{ctx.names[c]}' whose motion is below {still:g}",
            {"synthetic": len(mine), "real_test": len(theirs)},
            reference=real_share, bound="max", threshold=ctx.share_limit(limit, measured),
        ))  # fmt: skip
    return figures
