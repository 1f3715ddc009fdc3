"""``memorised_fraction`` and nearest-training-clip distances, in pixels and in judge features."""

import numpy as np

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import nearest_neighbour


@metric("memorisation")
def memorisation(ctx: Context):
    cfg = ctx.cfg
    nn_px = ctx.nn_pixels
    nn_px_real, _ = nearest_neighbour(ctx.test.pixels, ctx.train.pixels)
    nn_feat, _ = nearest_neighbour(ctx.synthetic.features, ctx.train.features)
    nn_feat_real, _ = nearest_neighbour(ctx.test.features, ctx.train.features)
    return [
        ctx.figure("memorised_fraction", np.mean(nn_px < cfg.memorisation_distance),
                   f"share of synthetic clips within pixel RMS distance {cfg.memorisation_distance:g} of a training clip",
                   {"synthetic": True, "real_train": True}, reference=np.mean(nn_px_real < cfg.memorisation_distance),
                   bound="max", threshold=cfg.max_memorised_fraction),
        ctx.figure("nn_pixel_distance", np.median(nn_px),
                   "median pixel RMS distance of a synthetic clip to its nearest training clip",
                   {"synthetic": True, "real_train": True}, reference=np.median(nn_px_real)),
        ctx.figure("nn_feature_distance", np.median(nn_feat),
                   "median judge-feature distance of a synthetic clip to its nearest training clip",
                   {"synthetic": True, "real_train": True}, reference=np.median(nn_feat_real)),
    ]  # fmt: skip
