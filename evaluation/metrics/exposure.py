"""``exposure_outlier_fraction``: synthetic clips darker than the darkest real training clip or brighter than the brightest.

No other figure sees a clip's brightness: the judge takes frame differences
(``quality.judge.input`` residual), so fidelity and the Frechet distance in
its features are blind to it, and the pixel figures compare clips with each
other. A generator whose critics saw colour-augmented clips (DiffAugment's
``color``) can learn the augmentation's brightness shifts instead of the real
clips' exposure: a demo version passed the gate with a third of its clips
darker or brighter than every real training clip, against 2 % of the real
test clips (docs/quality-gate.md). The reference is the real test clips' own
share outside the same range; with ``shares_over_real`` the threshold is a
share above it (``Context.share_limit``). Without a threshold (the default)
the figure is reported, not gated: those darker and brighter clips measured
a larger gain to a recognizer than clips without the shifts.
"""

from evaluation.metrics import metric
from evaluation.metrics.context import Context
from evaluation.quality import brightness_range, exposure_outliers


@metric("exposure")
def exposure(ctx: Context):
    span = brightness_range(ctx.train.pixels)
    shown = "no real training clips" if span is None else f"{span[0]:.3f} to {span[1]:.3f} of the grey range"
    real_share, limit = exposure_outliers(span, ctx.test.pixels), ctx.cfg.max_exposure_outlier_fraction
    return [ctx.figure(
        "exposure_outlier_fraction", exposure_outliers(span, ctx.synthetic.pixels),
        f"share of synthetic clips whose mean brightness (of R, G and B) lies outside the real training clips' range "
        f"({shown})", {"synthetic": True, "real_train": True, "real_test": True}, reference=real_share,
        bound=None if limit is None else "max",
        threshold=None if limit is None else ctx.share_limit(limit, real_share),
    )]  # fmt: skip
