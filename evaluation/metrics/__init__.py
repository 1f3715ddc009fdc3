"""The quality gate's figures: a registry of metrics, one metric per module.

A metric is a function of a :class:`Context` (the synthetic, real training
and real test clips measured with the judge, plus the gate's configuration)
that returns its :class:`schemas.manifest.QualityFigure` rows. The gate
(:func:`pipelines.release.gate.assess`) computes every registered metric in
registration order; adding one means a module here with a ``@metric``
function, imported below, and its threshold in
:class:`schemas.config.QualityConfig` (the expectation is built from the
figure's bound and threshold by :func:`schemas.expectations.build_quality_suite`).
"""

from __future__ import annotations

from collections.abc import Callable

from evaluation.metrics.context import Context, MeasuredSet
from schemas.manifest import QualityFigure

Metric = Callable[[Context], list[QualityFigure]]
_REGISTRY: dict[str, Metric] = {}


def metric(name: str) -> Callable[[Metric], Metric]:
    """Register a metric under ``name``; a name registered twice is an error, not a silent replacement."""

    def register(fn: Metric) -> Metric:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} is registered twice")
        _REGISTRY[name] = fn
        return fn

    return register


def metric_names() -> list[str]:
    return list(_REGISTRY)


def compute(ctx: Context, names: list[str] | None = None) -> list[QualityFigure]:
    """The figures of the named metrics (all of them by default), in registration order."""
    unknown = sorted(set(names or ()) - set(_REGISTRY))
    if unknown:
        raise KeyError(f"unknown metrics {unknown}; registered: {metric_names()}")
    return [f for name, fn in _REGISTRY.items() if names is None or name in names for f in fn(ctx)]


# registration order is the order of the figures in the manifest and the suite
from evaluation.metrics import (  # noqa: E402,F401
    samples,
    judge_accuracy,
    frechet,
    fvd,
    fidelity,
    diversity,
    duplicates,
    frozen,
    motion,
    flicker,
    exposure,
    memorisation,
)

__all__ = ["Context", "MeasuredSet", "Metric", "compute", "metric", "metric_names"]
