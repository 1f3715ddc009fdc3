"""The value step: what a candidate's clips do to a recognizer trained on the real clips, measured before publishing.

After the quality gate, a small recognizer (:mod:`evaluation.recognizer`) is
trained per seed twice, with the same steps, augmentation and seed: on the
real training split alone, and on it plus the candidate mixed by the shipped
:class:`pipelines.MixRecipe` (its synthetic fraction for the real clips per
class, and how the judge's confidence read from the gated index enters the
loss: as a weight, the shipped default). Both are
tested on the real test split, which neither saw. The mean gain over seeds
must reach ``value.min_gain``; a Great Expectations expectation checks it, so
the failure is reported like the gate's, naming the figure and its value.

A set is decoded once into memory (:class:`pipelines.ArrayClips`) when it
fits in :data:`IN_MEMORY_BYTES` (the demo's: a few MB), else it is read clip
by clip every epoch (UCF-101's 50,000 candidate clips would take 10 GB).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

from evaluation.judge import load_clips
from evaluation.recognizer import RecognizerSpec, Stage, spread, top1, train_recognizer
from generators.device import resolve_device
from pipelines.dataset.mixing import (
    ArrayClips,
    ClipTransform,
    MixedClips,
    MixRecipe,
    judge_weights,
)
from pipelines.dataset.reader import ClipDataset
from pipelines.release.validate import _describe_failure, _run_checkpoints
from schemas.atomic import write_text_atomic
from schemas.config import ValueConfig
from schemas.expectations import build_quality_suite, quality_table
from schemas.layout import VALIDATION_DIR
from schemas.manifest import QualityFigure, ValueSummary

__all__ = ["FIGURE", "check_value", "describe", "figure", "measure_value", "value_rows"]

log = logging.getLogger(__name__)

FIGURE = "value_gain_points"
IN_MEMORY_BYTES = 2 << 30
TRANSFORM = ClipTransform(crop_scale=(0.8, 1.0), brightness=0.1, contrast=0.1)  # that of the benchmark


def measure_value(
    candidate: str | Path, real_dir: str | Path, cfg: ValueConfig, view: str, recipe: MixRecipe | None = None,
) -> ValueSummary:  # fmt: skip
    """Both arms for every seed of ``cfg``; ``passed`` is set by :func:`check_value`, here only provisionally.

    ``view`` is the recognizer's input (``RecognizerSpec.view``); the flow
    passes the judge's (``quality.judge.input``), the one place a deployment
    says what its footage needs: the residual for a static camera where only
    motion tells the classes apart, the frames too for real footage.
    """
    started = time.perf_counter()
    recipe = recipe or MixRecipe()
    device = resolve_device(cfg.device)
    real_set = ClipDataset(real_dir, split="train")
    real = _clips(real_set)
    test_videos, test_labels = load_clips(ClipDataset(real_dir, split="test"))
    synthetic_set = ClipDataset(candidate)
    weights = [judge_weights(synthetic_set)] if recipe.confidence != "off" else None
    synthetic = _clips(synthetic_set)
    num_classes = len(real.class_names)
    if set(real.class_names) != set(range(num_classes)):
        raise ValueError(f"{real_dir}: training labels {sorted(real.class_names)} are not 0..{num_classes - 1}")
    per_class = len(real) / num_classes
    fraction = recipe.synthetic_fraction(per_class)
    spec = RecognizerSpec(cfg.channels, cfg.steps, cfg.batch_size, view=view)
    mixed_steps, rehearse_steps = recipe.split_steps(spec.steps)
    frames, size = test_videos.shape[1], test_videos.shape[2]

    real_only, with_synthetic = [], []
    for seed in cfg.seeds:
        real_data = MixedClips(real, transform=TRANSFORM, seed=seed, weights=True)
        net = train_recognizer([Stage(real_data.batches(spec.batch_size), spec.steps)], num_classes, frames, size, spec, seed, device)
        real_only.append(top1(net, test_videos, test_labels, device))
        mixed = MixedClips(real, [synthetic], fraction, transform=TRANSFORM, seed=seed, weights=True, synthetic_weights=weights)
        stages = [Stage(mixed.batches(spec.batch_size), mixed_steps, recipe.clip_values)]
        if rehearse_steps:
            stages.append(Stage(real_data.batches(spec.batch_size), rehearse_steps))
        net = train_recognizer(stages, num_classes, frames, size, spec, seed, device)
        with_synthetic.append(top1(net, test_videos, test_labels, device))
        log.info("value seed %d: real only %.3f, with synthetic %.3f", seed, real_only[-1], with_synthetic[-1])
    gains = spread([100 * (m - r) for r, m in zip(real_only, with_synthetic)], 2)
    return ValueSummary(
        passed=gains["mean"] >= cfg.min_gain, gain_points=gains["mean"], gain_std=gains["std"], gains=gains["runs"],
        real_only=[round(a, 4) for a in real_only], with_synthetic=[round(a, 4) for a in with_synthetic],
        seeds=list(cfg.seeds), min_gain=cfg.min_gain, recipe=recipe.describe(), synthetic_fraction=fraction,
        real_clips_per_class=round(per_class, 2), test_clips=len(test_labels), recognizer=spec.describe(),
        seconds=round(time.perf_counter() - started, 1),
    )  # fmt: skip


def _clips(data: ClipDataset) -> ClipDataset | ArrayClips:
    """``data`` decoded into memory if it fits in :data:`IN_MEMORY_BYTES`, else as it is (decoded per read)."""
    if not len(data) or len(data) * data.video(0).nbytes > IN_MEMORY_BYTES:
        return data
    return ArrayClips.decode(data)


def figure(value: ValueSummary) -> QualityFigure:
    """The value figure as the quality suite's kind of figure, so it is validated and shown like the gate's."""
    return QualityFigure(
        name=FIGURE, value=value.gain_points, bound="min", threshold=value.min_gain, passed=value.passed,
        samples={"seeds": len(value.seeds), "real_test": value.test_clips},
        description="mean over seeds of the top-1 gain (points) on real test clips of a recognizer trained with "
        "the synthetic clips over the same recognizer trained on the real clips alone",
    )  # fmt: skip


def check_value(candidate: str | Path, value: ValueSummary) -> tuple[ValueSummary, list[str]]:
    """Validate the value figure with a GX expectation (results into the candidate's ``validation/``).

    Returns the summary with ``passed`` from the expectation, and the failure
    lines (empty when it passed).
    """
    out = Path(candidate) / VALIDATION_DIR
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    frame = pd.DataFrame(quality_table([figure(value)]))
    docs = Path(tempfile.mkdtemp(prefix=".value-docs-", dir=out))
    try:
        (result,) = _run_checkpoints([("value", frame, build_quality_suite([figure(value)], "value"), "value figure")], docs, "value")
    finally:
        shutil.rmtree(docs, ignore_errors=True)
    write_text_atomic(out / "value_results.json", json.dumps(result.to_json_dict(), indent=1, default=str))
    failed = [_describe_failure(r) for r in result.results if not r.success]
    return value.model_copy(update={"passed": bool(result.success)}), failed


def value_rows(value: ValueSummary) -> list[dict]:
    """One row per seed: both accuracies and the gain, for an artifact or a card table."""
    return [{"seed": s, "real_only": r, "with_synthetic": m, "gain_points": g}
            for s, r, m, g in zip(value.seeds, value.real_only, value.with_synthetic, value.gains)]  # fmt: skip


def describe(value: ValueSummary) -> str:
    """One line: the gain, its spread, against what threshold."""
    return (f"value: {value.gain_points:+.2f} ± {value.gain_std:.2f} points of real-test top-1 over {len(value.seeds)} "
            f"seed(s) (least {value.min_gain:+g}): {'passed' if value.passed else 'FAILED'}")

