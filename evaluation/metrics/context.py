"""What every metric reads: three measured clip sets, the judge's credentials and the gate's thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from evaluation.quality import nearest_neighbour
from schemas.config import QualityConfig
from schemas.manifest import QualityFigure


@dataclass
class MeasuredSet:
    """One set of clips, measured: everything the figures need, no pixels kept."""

    keys: list[str]
    labels: np.ndarray  # int (N,)
    features: np.ndarray  # judge features (N, D)
    probs: np.ndarray  # judge class probabilities (N, C)
    pixels: np.ndarray  # pixel embedding (N, P), Euclidean distance = RMS difference
    motion: np.ndarray  # per-clip motion (N,)
    flicker: np.ndarray  # per-clip flicker (N,)
    i3d: np.ndarray | None  # I3D features (N, K) when an I3D was named

    def __len__(self) -> int:
        return len(self.keys)


class Context:
    """The synthetic candidate against the real training and test clips, as the metrics see it.

    ``judge`` is anything with ``class_names``, ``name`` and ``meta``
    (``test_accuracy``, ``test_class_accuracy``, ``n_test``), such as
    :class:`evaluation.judge.Judge`; ``i3d`` anything with ``name``, or None.
    Quantities that several metrics or the per-clip columns use (the judge's
    predicted labels, nearest training clips) are computed once, on first use.
    """

    def __init__(self, synthetic: MeasuredSet, train: MeasuredSet, test: MeasuredSet, judge: Any,
                 cfg: QualityConfig, i3d: Any = None) -> None:  # fmt: skip
        self.synthetic, self.train, self.test = synthetic, train, test
        self.judge, self.cfg, self.i3d = judge, cfg, i3d
        self.names: list[str] = list(judge.class_names)
        self.counts = {"synthetic": len(synthetic), "real_train": len(train), "real_test": len(test)}

    @property
    def n_classes(self) -> int:
        return len(self.names)

    @cached_property
    def synthetic_pred(self) -> np.ndarray:
        return self.synthetic.probs.argmax(1)

    @cached_property
    def synthetic_counts(self) -> np.ndarray:
        return np.bincount(self.synthetic.labels, minlength=self.n_classes)

    @cached_property
    def test_counts(self) -> np.ndarray:
        return np.bincount(self.test.labels, minlength=self.n_classes)

    @cached_property
    def present(self) -> list[int]:
        """Classes the candidate has clips of."""
        return sorted(set(self.synthetic.labels.tolist()))

    def too_few_test_clips(self, c: int, at_least: int = 1) -> str | None:
        """Why class ``c``'s figures against its own real test clips would be noise, or None when they are not.

        One rule for every per-class figure that divides by the class's real
        test clips: fewer than ``min_test_clips_per_class`` of them (or than
        ``at_least``, what the figure needs to exist at all) and one odd clip
        decides it, so the figure is reported as not measurable, by name,
        instead of passing or failing.
        """
        n, need = int(self.test_counts[c]), max(self.cfg.min_test_clips_per_class, at_least)
        return None if n >= need else f"NOT MEASURABLE, only {n} real test clips of '{self.names[c]}' (need {need})"

    def share_limit(self, limit: float, real_share: float | None) -> float:
        """The most share of frozen, near-duplicate or off-exposure clips a figure allows: ``limit``, or with
        ``shares_over_real`` that much above the real test clips' own share (at most 1), so that
        real footage, whose still scenes count as frozen, is never held to a stricter bar than itself."""
        if not self.cfg.shares_over_real or real_share is None:
            return limit
        return min(1.0, float(real_share) + limit)

    @cached_property
    def nn_pixels(self) -> np.ndarray:
        """Pixel RMS distance of each synthetic clip to its nearest training clip (the index's ``nn_distance``)."""
        return nearest_neighbour(self.synthetic.pixels, self.train.pixels)[0]

    def figure(self, name: str, value, description: str, samples: dict, reference=None, bound=None,
               threshold=None) -> QualityFigure:  # fmt: skip
        """One figure; ``samples`` maps a set to its clip count, ``True`` meaning the whole set."""
        return QualityFigure(
            name=name, value=finite(value), reference=finite(reference), bound=bound, threshold=threshold,
            samples={k: self.counts[k] if v is True else v for k, v in samples.items()}, description=description,
        )  # fmt: skip


def finite(value) -> float | None:
    """A float, or None for a missing or non-finite value (which the quality suite then fails)."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def ratio(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of ``a`` over mean of ``b``; NaN where ``b``'s mean is not positive."""
    denominator = float(np.nanmean(b))
    return float(np.nanmean(a)) / denominator if denominator > 0 else float("nan")
