"""``near_duplicate_fraction``: synthetic clips with another synthetic clip within a small pixel distance (mode collapse).

With ``shares_over_real`` the threshold is a share above the real test clips'
own (``Context.share_limit``): two clips of one still camera shot are near
duplicates in real footage too.
"""

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import near_duplicates


@metric("duplicates")
def duplicates(ctx: Context):
    d = ctx.cfg.duplicate_distance
    real_share = near_duplicates(ctx.test.pixels, d).mean()
    return [ctx.figure("near_duplicate_fraction", near_duplicates(ctx.synthetic.pixels, d).mean(),
                       f"share of synthetic clips with another synthetic clip within pixel RMS distance {d:g}",
                       {"synthetic": True}, reference=real_share,
                       bound="max", threshold=ctx.share_limit(ctx.cfg.max_duplicate_fraction, real_share))]  # fmt: skip
