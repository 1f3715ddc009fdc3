"""The quality gate, both ways, with the demo deployment's thresholds.

A "good generator" (fresh procedural clips, correctly labelled) must pass;
deliberately broken generators must fail, each naming the figure that shows
its fault. The judge is the session's tiny one (tests/conftest.py), trained on
real procedural clips; candidates go through the real shard writer, so the
gate reads encoded clips exactly as it does in the flow.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from flows.deployments import deployment_parameters
from pipelines import ClipDataset
from pipelines.jobs.runner import run_shard_pipeline
from pipelines.jobs.plan import plan_synthetic
from pipelines.sources.procedural import render_clip
from pipelines.release.gate import gate_candidate
from pipelines.release.validate import validate_index
from pipelines.jobs.shard_job import ProducedClip, ShardJob
from schemas.config import BeamConfig, QualityConfig
from schemas.expectations import IndexExpectations, build_suite
from tests.conftest import GATE_CLASSES, GATE_CLIP

PER_CLASS = 8


class ArrayProducer:
    """A "generator" that hands over prepared clips by key."""

    def __init__(self, clips: dict[str, np.ndarray]):
        self.clips = clips

    def setup(self) -> None:
        pass

    def __call__(self, shard):
        for task in shard.clips:
            fields = {"generator": "test", "checkpoint_sha256": "0" * 64, "seed": task.seed, "truncation": 1.0}
            yield ProducedClip(task, self.clips[task.key], fields)


@pytest.fixture(scope="module")
def demo_thresholds() -> QualityConfig:
    """The quality thresholds of the augment-demo deployment, as prefect.yaml sets them."""
    return QualityConfig.model_validate(deployment_parameters()["augment-demo"].get("quality", {}))


SHARD_SIZE = 12


def _plan():
    return plan_synthetic(GATE_CLASSES, {c: PER_CLASS for c in GATE_CLASSES}, base_seed=0, shard_size=SHARD_SIZE)


@pytest.fixture(scope="module")
def plan():
    return list(_plan().tasks())


@pytest.fixture(scope="module")
def fresh_clips(plan) -> np.ndarray:
    """Clips a perfect generator would make: new procedural renders, none of them in the real set."""
    f, s = GATE_CLIP["frames"], GATE_CLIP["size"]
    return np.stack([render_clip(t.label_name, 10_000 + t.seed % 10_000, f, s, s)[0] for t in plan])


def _constant(plan, fresh, real):
    return np.full_like(fresh, 128)


def _one_clip_for_every_label(plan, fresh, real):
    return np.repeat(fresh[:1], len(fresh), axis=0)


def _labels_of_another_class(plan, fresh, real):
    """Each class's clips carry the next class's labels (a random shuffle would leave a third of them right)."""
    position = {(t.label, t.index): j for j, t in enumerate(plan)}
    return fresh[[position[((t.label + 1) % len(GATE_CLASSES), t.index)] for t in plan]]


def _frozen(plan, fresh, real):
    return np.repeat(fresh[:, :1], fresh.shape[1], axis=1)


def _one_class_frozen(plan, fresh, real):
    """Only ``jump`` is frozen: a third of the set, under the dataset-wide limit (0.35) once the others move."""
    still = np.repeat(fresh[:, :1], fresh.shape[1], axis=1)
    return np.stack([still[i] if t.label_name == "jump" else fresh[i] for i, t in enumerate(plan)])


def _copies_of_training_clips(plan, fresh, real):
    by_label = {c: [v for v, y in real if y == c] for c in range(len(GATE_CLASSES))}
    return np.stack([by_label[t.label][t.index] for t in plan])


def _flickering(plan, fresh, real):
    noise = np.random.default_rng(0).normal(0, 20, fresh.shape)  # new in every frame
    return np.clip(fresh + noise, 0, 255).astype(np.uint8)


GENERATORS = {
    "good": (lambda plan, fresh, real: fresh, []),
    "constant output": (_constant, ["frozen_fraction", "near_duplicate_fraction", "motion_ratio", "diversity_ratio__jump"]),
    "one clip for every label": (
        _one_clip_for_every_label,
        ["near_duplicate_fraction", "label_fidelity", "label_fidelity__jump", "diversity_ratio__walk_left"],
    ),
    "labels of another class": (_labels_of_another_class, ["label_fidelity"]),
    "frozen clips": (_frozen, ["frozen_fraction", "motion_ratio"]),
    # the per-class figures name the class that fails alone
    "one class frozen": (_one_class_frozen, ["frozen_fraction__jump", "motion_ratio__jump"]),
    "copies of training clips": (_copies_of_training_clips, ["memorised_fraction"]),
    "flickering clips": (_flickering, ["flicker_ratio"]),
}


SPEC = IndexExpectations(class_names=GATE_CLASSES, counts={c: PER_CLASS for c in GATE_CLASSES},
                         frames=GATE_CLIP["frames"], height=GATE_CLIP["size"], width=GATE_CLIP["size"],
                         fps=GATE_CLIP["fps"], origin="synthetic")  # fmt: skip


def _write_candidate(folder, plan, videos):
    """The clips as a candidate dataset, through the same Beam shard pipeline as generation."""
    producer = ArrayProducer({t.key: v for t, v in zip(plan, videos)})
    job = ShardJob(folder, "synthetic", GATE_CLIP["fps"])
    run_shard_pipeline(_plan(), job, producer, BeamConfig(), folder / "index.parquet")
    return folder


@pytest.mark.parametrize("name", list(GENERATORS))
def test_the_gate_passes_a_good_generator_and_names_each_broken_ones_fault(
    name, plan, fresh_clips, gate_real, gate_judge, demo_thresholds, tmp_path
):
    make, must_fail = GENERATORS[name]
    real = ClipDataset(gate_real, split="train")
    videos = make(plan, fresh_clips, [(real.video(i), y) for i, y in enumerate(real.labels)])
    candidate = _write_candidate(tmp_path / "candidate", plan, videos)

    report = gate_candidate(candidate, gate_real, gate_judge, SPEC, demo_thresholds)

    figures = {f.name: f for f in report.quality.figures}
    summary = {n: (f.value, f.threshold, f.passed) for n, f in figures.items() if f.threshold is not None}
    if not must_fail:
        assert report.success, (report.failed, summary)
        assert report.quality.passed and all(f.passed for f in figures.values() if f.threshold is not None)
    else:
        assert not report.success and not report.quality.passed
        for metric in must_fail:
            line = next((l for l in report.failed if re.search(rf"\(column={metric}\)", l)), None)
            assert line is not None, (metric, report.failed, summary)
            # the line names the metric, its threshold and the value observed
            assert f"{figures[metric].threshold:g}" in line and "observed" in line, line
        if name == "one class frozen":  # the dataset-wide figures alone would have let it through
            assert figures["frozen_fraction"].passed and figures["motion_ratio"].passed, summary
        # nothing about the index itself is wrong: every failure is a quality figure
        assert all(re.search(r"expect_column_min_to_be_between", l) for l in report.failed), report.failed
    # per-clip figures are in the index, for every clip
    index = pq.read_table(candidate / "index.parquet").to_pandas()
    assert index[["judge_label", "judge_confidence", "nn_distance", "motion", "flicker"]].notna().all().all()
    assert ((index.judge_confidence > 0) & (index.judge_confidence <= 1)).all()
    # the quality results and the Data Docs show the figures
    results = json.loads((candidate / "validation" / "quality_results.json").read_text())
    columns = [r["expectation_config"]["kwargs"].get("column") for r in results["results"]]
    assert set(columns) - {None} == set(summary) and columns.count(None) == 1  # None: the figures' order check
    pages = list((candidate / "validation" / "data_docs").rglob("*.html"))
    assert any("label_fidelity" in p.read_text() for p in pages)


def test_copies_are_flagged_per_clip_and_fresh_clips_are_not(plan, fresh_clips, gate_real, gate_judge, demo_thresholds):
    """The memorisation distance separates re-encoded training clips from fresh renders with room to spare."""
    from evaluation.judge import load_judge
    from evaluation.quality import nearest_neighbour
    from pipelines.release.gate import measure, measure_clips

    judge = load_judge(gate_judge)
    train = measure(gate_real, judge, split="train")
    fresh = measure_clips(fresh_clips, [t.label for t in plan], [t.key for t in plan], judge)
    copies = measure(gate_real, judge, split="train")  # decoded training clips: distance 0 to themselves
    fresh_nn = nearest_neighbour(fresh.pixels, train.pixels)[0]
    assert fresh_nn.min() > 2 * demo_thresholds.memorisation_distance
    assert nearest_neighbour(copies.pixels, train.pixels)[0].max() < 1e-6


def test_the_quality_suite_checks_each_thresholded_figure_and_fails_an_unmeasured_one(tmp_path):
    from schemas.manifest import FeatureNetwork, QualityFigure, QualitySummary
    from tests.test_validation import SPEC, _good_rows, _write

    def figure(name, value, bound=None, threshold=None):
        return QualityFigure(name=name, value=value, bound=bound, threshold=threshold, samples={"synthetic": 12},
                             description=f"the {name}")

    judge = FeatureNetwork(name="judge x", sha256="0" * 64, resize="none", frames=16, accuracy=0.9)
    quality = QualitySummary(passed=False, judge=judge, figures=[
        figure("label_fidelity", 0.8, "min", 0.5),
        figure("memorised_fraction", 0.25, "max", 0.01),
        figure("diversity_ratio__run", None, "min", 0.4),
        figure("frechet_distance", 3.0),  # reported only
    ])  # fmt: skip
    report = validate_index(_write(_good_rows(), tmp_path / "index.parquet"), SPEC, tmp_path / "v", quality=quality)

    assert not report.success
    assert report.failed == [
        "expect_column_min_to_be_between (column=memorised_fraction): memorised_fraction: the memorised_fraction; "
        "must be at most 0.01. observed 0.25",
        "expect_column_min_to_be_between (column=diversity_ratio__run): diversity_ratio__run: the "
        "diversity_ratio__run; must be at least 0.4. observed no value (it could not be measured)",
    ]
    passed = {f.name: f.passed for f in report.quality.figures}
    assert passed == {"label_fidelity": True, "memorised_fraction": False, "diversity_ratio__run": False,
                      "frechet_distance": None}
    # the three thresholded figures, and the check that puts them in the report's order
    assert report.statistics["evaluated_expectations"] == len(build_suite(SPEC, "s").expectations) + 4


def test_a_named_i3d_adds_a_true_fvd_figure_with_its_protocol(plan, fresh_clips, gate_real, gate_judge, tmp_path):
    """An I3D named by path (here randomly initialised, resized to 32 for speed) gives fvd_i3d beside the judge's figure."""
    import torch

    from evaluation.i3d import InceptionI3d

    torch.manual_seed(0)
    torch.save(InceptionI3d(num_classes=16).state_dict(), tmp_path / "i3d.pt")
    candidate = _write_candidate(tmp_path / "candidate", plan, fresh_clips)
    cfg = QualityConfig(i3d_path=str(tmp_path / "i3d.pt"), i3d_size=32, max_fvd=1e6)

    report = gate_candidate(candidate, gate_real, gate_judge, SPEC, cfg)

    fvd = next(f for f in report.quality.figures if f.name == "fvd_i3d")
    assert fvd.value is not None and fvd.value >= 0 and fvd.reference is not None and fvd.passed
    assert fvd.samples == {"synthetic": 24, "real_train": 54}
    i3d = report.quality.i3d
    assert i3d.name.startswith("i3d (state_dict) i3d.pt sha256:") and len(i3d.sha256) == 64
    assert i3d.resize == "bilinear to 32x32, 8 frames as given, values in [-1, 1]" and i3d.frames == 8
