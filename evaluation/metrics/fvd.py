"""``fvd_i3d``: FVD in the logits of an I3D, measured only when the configuration names one."""

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import frechet_distance


@metric("fvd")
def fvd(ctx: Context):
    if ctx.i3d is None:
        return []
    cfg = ctx.cfg
    return [ctx.figure("fvd_i3d", frechet_distance(ctx.train.i3d, ctx.synthetic.i3d),
                       f"FVD to the real training clips in the logits of the {ctx.i3d.name}",
                       {"synthetic": True, "real_train": True}, reference=frechet_distance(ctx.train.i3d, ctx.test.i3d),
                       bound="max" if cfg.max_fvd is not None else None, threshold=cfg.max_fvd)]  # fmt: skip
