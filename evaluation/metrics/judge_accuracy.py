"""``judge_accuracy``: whether the instrument can measure at all (held-out accuracy on the real test clips)."""

from evaluation.metrics import metric
from evaluation.metrics.context import Context


@metric("judge_accuracy")
def judge_accuracy(ctx: Context):
    return [ctx.figure("judge_accuracy", ctx.judge.meta["test_accuracy"],
                       "held-out accuracy of the judge on the real test clips; below the threshold the JUDGE cannot tell the "
                       "real classes apart, so the figures measured with it (label fidelity, Frechet distance, "
                       "diversity) say nothing about the candidate",
                       {"real_test": ctx.judge.meta["n_test"]}, bound="min", threshold=ctx.cfg.min_judge_accuracy)]  # fmt: skip
