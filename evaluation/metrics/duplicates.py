"""``near_duplicate_fraction``: synthetic clips with another synthetic clip within a small pixel distance (mode collapse)."""

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import near_duplicates


@metric("duplicates")
def duplicates(ctx: Context):
    d = ctx.cfg.duplicate_distance
    return [ctx.figure("near_duplicate_fraction", near_duplicates(ctx.synthetic.pixels, d).mean(),
                       f"share of synthetic clips with another synthetic clip within pixel RMS distance {d:g}",
                       {"synthetic": True}, reference=near_duplicates(ctx.test.pixels, d).mean(),
                       bound="max", threshold=ctx.cfg.max_duplicate_fraction)]  # fmt: skip
