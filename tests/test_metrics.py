"""The gate's metric registry on measured sets built in memory: per-class figures and small real test splits."""

from __future__ import annotations

import types

import numpy as np
import pytest

from evaluation.metrics import Context, MeasuredSet, compute, metric, metric_names
from pipelines.release.validate import validate_quality
from schemas.config import ClipFormat, QualityConfig
from schemas.expectations import build_quality_suite
from schemas.manifest import FeatureNetwork, QualitySummary

CLASSES = ["wave", "jump", "run"]


def _set(per_class: int, motion: dict[int, float], seed: int = 0) -> MeasuredSet:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    probs = np.eye(len(CLASSES))[labels] * 0.8 + 0.2 / len(CLASSES)
    return MeasuredSet(
        keys=[f"{CLASSES[y]}-{i:03d}" for i, y in enumerate(labels)], labels=labels,
        features=rng.normal(size=(len(labels), 8)) + labels[:, None], probs=probs.astype(np.float32),
        pixels=rng.random((len(labels), 16)), motion=np.array([motion[y] for y in labels]) * rng.uniform(0.8, 1.2, len(labels)),
        flicker=rng.uniform(0.01, 0.02, len(labels)), i3d=None,
    )  # fmt: skip


JUDGE = types.SimpleNamespace(
    class_names=CLASSES, clip=ClipFormat(frames=8, size=32, fps=8), name="judge test",
    meta={"test_accuracy": 0.95, "test_class_accuracy": [0.95] * 3, "n_test": 18, "sha256": "0" * 64},
)  # fmt: skip
MOVING = {0: 0.05, 1: 0.05, 2: 0.05}
JUDGE_NETWORK = FeatureNetwork(name="judge test", sha256="0" * 64, resize="none", frames=8, accuracy=0.95)


def _figures(synthetic, test, cfg=QualityConfig(), train=None):
    """The registry's figures, each thresholded one's ``passed`` decided by the gate's own suite."""
    figures = compute(Context(synthetic, _set(18, MOVING, 1) if train is None else train, test, JUDGE, cfg))
    return {f.name: f for f in validate_quality(QualitySummary(passed=False, judge=JUDGE_NETWORK, figures=figures)).figures}


def _fails(f) -> bool:
    """Whether the quality suite refused the figure (a missing value fails)."""
    return f.passed is False


def _passes(f) -> bool:
    """Whether the quality suite checked the figure and passed it (an ungated figure does neither)."""
    return f.passed is True


def test_one_frozen_class_fails_by_name_though_the_dataset_wide_figures_pass():
    synthetic = _set(10, {0: 0.0, 1: 0.05, 2: 0.05})  # every 'wave' clip still: a third of the set
    figures = _figures(synthetic, _set(6, MOVING, 2))
    assert _passes(figures["frozen_fraction"]) and _passes(figures["motion_ratio"])
    assert figures["frozen_fraction__wave"].value == 1.0 and _fails(figures["frozen_fraction__wave"])
    assert figures["motion_ratio__wave"].value == 0.0 and _fails(figures["motion_ratio__wave"])
    assert all(_passes(figures[f"{n}__{c}"]) for n in ("frozen_fraction", "motion_ratio") for c in ("jump", "run"))
    suite = build_quality_suite(list(figures.values()), "q")
    assert {"frozen_fraction__wave", "motion_ratio__wave"} <= {e.column for e in suite.expectations}


def test_a_real_test_split_too_small_to_mean_anything_is_named_not_judged():
    figures = _figures(_set(10, MOVING), _set(2, MOVING, 2), QualityConfig(min_test_clips_per_class=5))
    small = figures["real_test_clips_per_class"]
    assert small.value == 2 and small.threshold == 5 and _fails(small) and "too small" in small.description
    ratio = figures["motion_ratio__wave"]
    assert ratio.value is None and "NOT MEASURABLE, only 2 real test clips of 'wave' (need 5)" in ratio.description
    assert ratio.samples == {"synthetic": 10, "real_test": 2}
    spread = figures["diversity_ratio__wave"]
    assert spread.value is None and "NOT MEASURABLE, only 2 real test clips of 'wave' (need 5)" in spread.description
    assert _fails(spread) and "diversity_ratio" not in figures  # no class measurable: no overall figure either
    # with enough clips the same figures are measured and pass
    enough = _figures(_set(10, MOVING), _set(6, MOVING, 2))
    assert _passes(enough["real_test_clips_per_class"]) and enough["motion_ratio__wave"].value is not None
    assert enough["diversity_ratio__wave"].value is not None and _passes(enough["diversity_ratio__wave"])


def _without(measured: MeasuredSet, keep: np.ndarray) -> MeasuredSet:
    """The clips of ``measured`` where ``keep`` is true."""
    idx = np.flatnonzero(keep)
    return MeasuredSet(keys=[measured.keys[i] for i in idx], labels=measured.labels[idx],
                       features=measured.features[idx], probs=measured.probs[idx], pixels=measured.pixels[idx],
                       motion=measured.motion[idx], flicker=measured.flicker[idx], i3d=None)  # fmt: skip


def test_one_class_with_too_few_real_test_clips_is_not_measurable_and_the_others_are_judged():
    test = _set(6, MOVING, 2)
    wave = np.flatnonzero(test.labels == 0)
    test = _without(test, (test.labels != 0) | np.isin(np.arange(len(test)), wave[:3]))  # 3 'wave', 6 of the others
    collapsed = _set(10, MOVING)
    collapsed.features[collapsed.labels == 1] = collapsed.features[collapsed.labels == 1][0]  # every 'jump' clip alike
    figures = _figures(collapsed, test, QualityConfig(min_test_clips_per_class=5))
    for name in ("diversity_ratio__wave", "motion_ratio__wave"):
        assert figures[name].value is None and "only 3 real test clips of 'wave' (need 5)" in figures[name].description
    assert figures["diversity_ratio__wave"].samples == {"synthetic": 10, "real_test": 3}
    assert figures["diversity_ratio__jump"].value == 0.0 and _fails(figures["diversity_ratio__jump"])
    assert _passes(figures["diversity_ratio__run"])
    overall = figures["diversity_ratio"]  # over jump and run only: wave's spread has no reference
    assert overall.samples == {"synthetic": 20, "real_test": 12} and "enough real test clips" in overall.description


def test_a_class_whose_real_clips_do_not_move_requires_no_motion():
    still_run = {0: 0.05, 1: 0.05, 2: 0.0}
    figures = _figures(_set(10, still_run), _set(6, still_run, 2))
    assert figures["motion_ratio__run"].bound is None and "do not move" in figures["motion_ratio__run"].description


def test_the_registry_refuses_a_name_twice_and_unknown_names():
    assert metric_names()[:3] == ["samples", "judge_accuracy", "frechet"]
    with pytest.raises(ValueError, match="registered twice"):
        metric("motion")(lambda ctx: [])
    with pytest.raises(KeyError, match="unknown metrics"):
        compute(Context(_set(2, MOVING), _set(2, MOVING), _set(2, MOVING), JUDGE, QualityConfig()), ["nope"])


def test_the_card_shows_a_caveat_when_the_real_test_split_is_small():
    from pipelines.release.card import _quality_lines

    def card(test_per_class: int) -> str:
        figures = compute(Context(_set(10, MOVING), _set(18, MOVING, 1), _set(test_per_class, MOVING, 2), JUDGE,
                                  QualityConfig(min_test_clips_per_class=0)))  # fmt: skip
        summary = QualitySummary(passed=True, judge=JUDGE_NETWORK, i3d=None, figures=figures)
        return "\n".join(_quality_lines(types.SimpleNamespace(quality=summary)))

    assert "Caveat: small real test split" in card(3) and "has 3 clips" in card(3)
    assert "Caveat" not in card(6)


def test_with_shares_over_real_a_class_may_be_as_still_as_its_real_clips_but_not_frozen_throughout():
    test = _set(6, MOVING, 2)
    test.motion[np.flatnonzero(test.labels == 0)[:3]] = 0.0  # half the real 'wave' clips are still (a still scene)
    test.pixels[1] = test.pixels[0]  # and two of them one shot: near duplicates
    like_real = _set(10, MOVING)
    like_real.motion[np.flatnonzero(like_real.labels == 0)[:5]] = 0.0
    like_real.pixels[1] = like_real.pixels[0]
    absolute = _figures(like_real, test)
    assert _fails(absolute["frozen_fraction__wave"])  # 0.5 against 0.35: the real clips themselves would fail
    relative = _figures(like_real, test, QualityConfig(shares_over_real=True))
    frozen = relative["frozen_fraction__wave"]
    assert frozen.value == 0.5 and frozen.reference == 0.5 and frozen.threshold == pytest.approx(0.85) and _passes(frozen)
    assert relative["frozen_fraction__jump"].threshold == pytest.approx(0.35)  # its real clips all move
    dup = relative["near_duplicate_fraction"]
    assert dup.reference == pytest.approx(2 / 18) and dup.threshold == pytest.approx(2 / 18 + 0.05) and _passes(dup)
    few = _without(test, (test.labels != 0) | np.isin(np.arange(len(test)), np.flatnonzero(test.labels == 0)[:2]))
    two_still = _figures(like_real, few, QualityConfig(shares_over_real=True))["frozen_fraction__wave"]
    assert two_still.reference == 1.0 and two_still.threshold == 0.35  # 2 still real clips move no threshold
    frozen_wave = _set(10, {0: 0.0, 1: 0.05, 2: 0.05})
    assert _fails(_figures(frozen_wave, test, QualityConfig(shares_over_real=True))["frozen_fraction__wave"])


def _with_brightness(measured: MeasuredSet, levels: np.ndarray) -> MeasuredSet:
    """``measured`` with each clip's pixel embedding a flat grey at ``levels`` (0..1), as ``pixel_embedding`` scales it."""
    width = measured.pixels.shape[1]
    pixels = np.repeat(np.asarray(levels, np.float32)[:, None], width, axis=1) / np.sqrt(width)
    return MeasuredSet(**{**measured.__dict__, "pixels": pixels})


def test_clips_darker_or_brighter_than_every_real_training_clip_are_counted_and_fail_where_gated():
    rng = np.random.default_rng(3)
    real_levels = lambda n: rng.uniform(0.25, 0.55, n)  # noqa: E731  (the procedural set's spread of mean brightness)
    train, test = _with_brightness(_set(18, MOVING, 1), real_levels(54)), _with_brightness(_set(6, MOVING, 2), rng.uniform(0.3, 0.5, 18))
    leaked = rng.uniform(0.3, 0.5, 30)  # inside the training clips' range, whatever the draws of its ends
    leaked[:6], leaked[6:10] = 0.05, 0.85  # a third darker or brighter than any real clip: DiffAugment's colour, learnt
    reported = _figures(_with_brightness(_set(10, MOVING), leaked), test, train=train)["exposure_outlier_fraction"]
    assert reported.value == pytest.approx(10 / 30) and reported.threshold is None and reported.passed is None
    gated = QualityConfig(max_exposure_outlier_fraction=0.1)
    figure = _figures(_with_brightness(_set(10, MOVING), leaked), test, gated, train=train)["exposure_outlier_fraction"]
    assert figure.value == pytest.approx(10 / 30) and figure.threshold == 0.1 and _fails(figure)
    assert figure.reference == 0.0 and "outside the real training clips' range" in figure.description
    like_real = _figures(_with_brightness(_set(10, MOVING), rng.uniform(0.3, 0.5, 30)), test, gated, train=train)
    assert like_real["exposure_outlier_fraction"].value == 0.0 and _passes(like_real["exposure_outlier_fraction"])
    relative = QualityConfig(max_exposure_outlier_fraction=0.1, shares_over_real=True)
    dim_test = _with_brightness(_set(6, MOVING, 2), np.r_[np.full(3, 0.1), rng.uniform(0.3, 0.5, 15)])  # 3 real clips darker too
    read_above = _figures(_with_brightness(_set(10, MOVING), leaked), dim_test, relative, train=train)["exposure_outlier_fraction"]
    assert read_above.reference == pytest.approx(3 / 18) and read_above.threshold == pytest.approx(3 / 18 + 0.1)
    assert _fails(read_above)  # 10/30 is still above 0.27
    ungated = _figures(_with_brightness(_set(10, MOVING), leaked), dim_test, QualityConfig(shares_over_real=True), train=train)
    assert ungated["exposure_outlier_fraction"].threshold is None and ungated["exposure_outlier_fraction"].bound is None


def test_mean_brightness_is_the_mean_grey_level_of_the_clip():
    from evaluation.quality import mean_brightness, pixel_embedding

    videos = np.random.default_rng(0).integers(0, 256, (3, 4, 32, 32, 3), dtype=np.uint8)
    videos[1] //= 4  # a dark clip
    expected = videos.reshape(3, -1).mean(axis=1) / 255
    assert mean_brightness(pixel_embedding(videos)) == pytest.approx(expected, abs=1e-5)
