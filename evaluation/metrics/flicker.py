"""``flicker_ratio``: mean temporal flicker (VBench) of the decoded synthetic clips against the decoded real test clips'.

Not the index's ``flicker`` column (raw pixels before encoding; see docs/architecture.md).
"""

from evaluation.metrics import metric
from evaluation.metrics.context import Context, ratio


@metric("flicker")
def flicker(ctx: Context):
    return [ctx.figure("flicker_ratio", ratio(ctx.synthetic.flicker, ctx.test.flicker),
                       "mean temporal flicker (VBench) of the synthetic clips, as a multiple of the real test clips'",
                       {"synthetic": True, "real_test": True}, reference=1.0, bound="max",
                       threshold=ctx.cfg.max_flicker_ratio)]  # fmt: skip
