"""``judge_accuracy``: whether the instrument can measure at all (held-out accuracy on the real test clips)."""

from evaluation.metrics import metric
from evaluation.metrics.context import Context


@metric("judge_accuracy")
def judge_accuracy(ctx: Context):
    return [ctx.figure("judge_accuracy", ctx.judge.meta["test_accuracy"],
                       "held-out accuracy of the judge on the real test clips",
                       {"real_test": ctx.judge.meta["n_test"]}, bound="min", threshold=ctx.cfg.min_judge_accuracy)]  # fmt: skip
