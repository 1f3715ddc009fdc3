"""``frechet_distance`` (FVD-style, in the judge's features) and its ratio to the real test clips' own."""

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import frechet_distance


@metric("frechet")
def frechet(ctx: Context):
    fd = frechet_distance(ctx.train.features, ctx.synthetic.features)
    fd_real = frechet_distance(ctx.train.features, ctx.test.features)
    return [
        ctx.figure("frechet_distance", fd,
                   f"Frechet distance to the real training clips in the features of the {ctx.judge.name}",
                   {"synthetic": True, "real_train": True}, reference=fd_real),
        ctx.figure("frechet_distance_ratio", fd / fd_real if fd_real > 0 else float("inf"),
                   "Frechet distance (judge features) to the real training clips, as a multiple of the real test clips' own",
                   {"synthetic": True, "real_train": True, "real_test": True}, reference=1.0,
                   bound="max", threshold=ctx.cfg.max_fd_ratio),
    ]  # fmt: skip
