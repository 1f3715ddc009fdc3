"""The quality gate's measurements: every figure that decides whether a candidate dataset is worth publishing.

Three sets of clips are measured with the same instruments (the judge's
features and predictions, downsampled pixels, an I3D when one is named):

* the **synthetic** candidate;
* the **real training** clips the generator and the judge learnt from (the
  reference of the Fréchet distance and of memorisation);
* the **real test** clips, which neither saw: they stand for a perfect
  generator, so every synthetic figure is reported beside theirs, and the
  ratio thresholds of :class:`schemas.config.QualityConfig` divide by them.

Per-clip results (``judge_label``, ``judge_confidence``, ``nn_distance``) are
written into the candidate's index here, at validation, not at generation:
they need the judge and the training clips, which the generation workers do
not otherwise load; the judge is cached apart from the generator, so a
retrained judge re-measures a candidate without regenerating it; and the
clips measured are the encoded ones a user will read. The index is rewritten
atomically (``write_index``) before the Great Expectations suites run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from evaluation.i3d import I3DFeatures, load_i3d, resize_rule
from evaluation.judge import Judge, load_judge
from evaluation.clip_stats import flicker, motion
from evaluation.metrics import Context, MeasuredSet, compute
from evaluation.quality import pixel_embedding
from pipelines.dataset.index_io import read_index, write_index
from pipelines.dataset.reader import ClipDataset
from pipelines.release.actor_checks import box_coverage_figure
from pipelines.release.validate import ValidationReport, validate_index
from schemas.config import QualityConfig
from schemas.expectations import IndexExpectations
from schemas.layout import INDEX, VALIDATION_DIR
from schemas.manifest import FeatureNetwork, QualitySummary

log = logging.getLogger(__name__)

_BATCH = 64  # clips decoded and measured at once


class UnmeasurableClips(ValueError):
    """Clips the judge cannot measure (another shape than the clips it was trained on)."""


def measure_clips(
    videos: np.ndarray, labels: np.ndarray, keys: list[str], judge: Judge, i3d: I3DFeatures | None = None
) -> MeasuredSet:
    """Measure uint8 clips (N, T, H, W, 3) held in memory."""
    expected = (judge.clip.frames, judge.clip.size, judge.clip.size, 3)
    if videos.shape[1:] != expected:
        raise UnmeasurableClips(f"clips of shape {videos.shape[1:]}, the judge measures {expected}")
    out = judge(videos)
    return MeasuredSet(
        keys=list(keys),
        labels=np.asarray(labels, dtype=np.int64),
        features=out.features,
        probs=out.probs,
        pixels=pixel_embedding(videos),
        motion=np.array([motion(v) for v in videos]),
        flicker=np.array([flicker(v) for v in videos]),
        i3d=None if i3d is None else i3d(videos),
    )


def measure(path: str | os.PathLike, judge: Judge, i3d: I3DFeatures | None = None, split: str | None = None) -> MeasuredSet:
    """Decode the clips of a dataset folder (optionally one split) batch by batch and measure each.

    The clips measured are the decoded ones a user will read, so ``motion``
    and ``flicker`` here may differ from the index's (taken before encoding)
    by codec noise.
    """
    data = ClipDataset(path, split=split)
    if len(data) == 0:
        raise ValueError(f"{path} has no clips{f' in split {split!r}' if split else ''} to measure")
    parts = []
    for start in range(0, len(data), _BATCH):
        items = range(start, min(start + _BATCH, len(data)))
        videos = [data.video(i) for i in items]
        shapes = sorted({v.shape for v in videos})
        if len(shapes) > 1:
            raise UnmeasurableClips(f"{path} mixes clip shapes {shapes}")
        rows = [data.rows[i] for i in items]
        parts.append(measure_clips(np.stack(videos), [r["label"] for r in rows], [r["key"] for r in rows], judge, i3d))
    log.info("measured %d clips of %s%s", len(data), path, f" ({split})" if split else "")
    joined = {
        name: np.concatenate([getattr(p, name) for p in parts])
        for name in ("labels", "features", "probs", "pixels", "motion", "flicker", "i3d")
        if getattr(parts[0], name) is not None
    }
    return MeasuredSet(keys=[k for p in parts for k in p.keys], **{"i3d": None, **joined})


@dataclass
class Assessment:
    """The figures of one candidate and the per-clip columns that go into its index."""

    summary: QualitySummary
    judge_label: np.ndarray
    judge_confidence: np.ndarray
    nn_distance: np.ndarray


def assess(
    synthetic: MeasuredSet,
    train: MeasuredSet,
    test: MeasuredSet,
    judge: Judge,
    cfg: QualityConfig,
    i3d: I3DFeatures | None = None,
) -> Assessment:
    """Every dataset-level figure of ``synthetic`` against the real ``train`` and ``test`` sets.

    The figures are those of the metrics registered in
    :mod:`evaluation.metrics`, one per module. Figures with a threshold carry
    it and its direction; whether they pass is decided by the Great
    Expectations suite built from them
    (:func:`schemas.expectations.build_quality_suite`), so ``passed`` is left
    unset here.
    """
    ctx = Context(synthetic, train, test, judge, cfg, i3d)
    frames = judge.clip.frames
    summary = QualitySummary(
        passed=False,  # decided by the suite
        judge=FeatureNetwork(
            name=judge.name, sha256=judge.meta["sha256"], frames=frames, accuracy=judge.meta["test_accuracy"],
            resize=f"none: {judge.clip.size}x{judge.clip.size}, {frames} frames as stored, values in [-1, 1]",
        ),
        i3d=None if i3d is None else FeatureNetwork(
            name=i3d.name, sha256=i3d.sha256, frames=frames, resize=resize_rule(i3d.size, frames)),
        figures=compute(ctx),
    )  # fmt: skip
    return Assessment(summary, ctx.synthetic_pred, synthetic.probs.max(1), ctx.nn_pixels)


def assess_candidate(
    candidate: str | os.PathLike, real_dir: str | os.PathLike, judge_path: str | os.PathLike,
    class_names: list[str], cfg: QualityConfig,
) -> QualitySummary:  # fmt: skip
    """Measure a candidate against the real clips, fill its per-clip columns, and return its figures."""
    judge = load_judge(judge_path)
    if judge.class_names != list(class_names):
        raise ValueError(f"judge {judge_path} knows classes {judge.class_names}, the generator {class_names}")
    i3d = load_i3d(cfg.i3d_path, cfg.i3d_size) if cfg.i3d_path else None
    synthetic = measure(candidate, judge, i3d)
    train = measure(real_dir, judge, i3d, split="train")
    test = measure(real_dir, judge, i3d, split="test")
    result = assess(synthetic, train, test, judge, cfg, i3d)
    write_clip_columns(Path(candidate) / INDEX, synthetic.keys, result)
    return result.summary


def write_clip_columns(index_path: Path, keys: list[str], result: Assessment) -> Path:
    """Rewrite the index (atomically) with ``judge_label``, ``judge_confidence`` and ``nn_distance`` per clip."""
    table = read_index(index_path)
    position = {k: i for i, k in enumerate(keys)}
    order = [position[k] for k in table["key"].to_pylist()]
    columns = {
        "judge_label": pa.array(result.judge_label[order], pa.int32()),
        "judge_confidence": pa.array(result.judge_confidence[order], pa.float32()),
        "nn_distance": pa.array(result.nn_distance[order], pa.float32()),
    }
    for name, values in columns.items():
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), values)
    return write_index(table, index_path)


def gate_candidate(
    candidate: str | os.PathLike, real_dir: str | os.PathLike, judge_path: str | os.PathLike,
    spec: IndexExpectations, cfg: QualityConfig, min_box_coverage: float | None = None,
) -> ValidationReport:  # fmt: skip
    """The whole gate: measure the candidate, fill its per-clip columns, then run the index and quality suites.

    For surveillance clips (``spec.actors``) the box quality figure joins the
    figures, with ``min_box_coverage`` as its threshold.

    Clips the judge cannot measure (a wrong shape, which the index suite names
    too) fail the gate with a line saying so, rather than stopping it before
    the index suite has reported.
    """
    candidate = Path(candidate)
    try:
        quality, problem = assess_candidate(candidate, real_dir, judge_path, spec.class_names, cfg), None
    except UnmeasurableClips as e:
        quality, problem = None, f"quality figures: not measured: {e}"
    if quality is not None and spec.actors:
        quality.figures.append(box_coverage_figure(read_index(candidate / INDEX), min_box_coverage))
    spec = dataclasses.replace(spec, measured=quality is not None)
    report = validate_index(candidate / INDEX, spec, candidate / VALIDATION_DIR, quality=quality)
    if problem is not None:
        log.warning("failed: %s", problem)
        report.success = False
        report.failed.append(problem)
    return report
