"""Training loop: runs in fp32 and bf16, resumes exactly, refuses to resume a different run."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.checkpoint import CheckpointError, load_checkpoint
from generators.training import ResumeMismatchError, describe_progress, train
from schemas.config import ClipFormat, ModelConfig, TrainConfig

CLIP = ClipFormat(frames=8, size=32, fps=8)
CLASSES = ["left", "right", "still"]


class MovingBars:
    """A bright bar on a dark background: moves left, moves right, or stays (label = index)."""

    def __init__(self, per_class: int = 2, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.items = []
        for label, step in enumerate((-2, 2, 0)):
            for _ in range(per_class):
                clip = np.full((CLIP.frames, CLIP.size, CLIP.size, 3), rng.integers(0, 60), np.uint8)
                x0 = int(rng.integers(8, 20))
                for t in range(CLIP.frames):
                    x = x0 + step * t
                    clip[t, :, max(x, 0) : max(x + 4, 0)] = rng.integers(150, 256, 3, dtype=np.uint8)
                self.items.append((clip, label))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def _config(**overrides) -> TrainConfig:
    base = {
        "steps": 4,
        "batch_size": 4,
        "precision": "fp32",
        "device": "cpu",
        "checkpoint_every": 2,
        "seed": 3,
        "model": ModelConfig(z_dim=16, channels=8),
    }
    return TrainConfig(**(base | overrides))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_few_steps_run_and_checkpoint(tmp_path: Path, precision: str, caplog) -> None:
    calls: list[tuple[int, dict]] = []
    caplog.set_level(logging.INFO, logger="generators.training")
    path = train(
        MovingBars(), CLASSES, _config(precision=precision), CLIP, tmp_path / "run" / "ckpt.pt",
        progress=lambda step, stats: calls.append((step, stats)),
    )  # fmt: skip
    ckpt = load_checkpoint(path)
    assert ckpt["step"] == 4
    assert ckpt["class_names"] == CLASSES
    assert ckpt["clip"] == CLIP.model_dump(mode="json")
    for key in ("G", "G_ema", "D_video", "D_frame"):
        assert all(torch.isfinite(v).all() for v in ckpt[key].values() if v.is_floating_point())
        assert all(v.dtype != torch.bfloat16 for v in ckpt[key].values()), "master weights stay fp32"
    # the EMA generator moved away from its initialisation but is not the raw generator
    assert any(not torch.equal(ckpt["G"][k], ckpt["G_ema"][k]) for k in ckpt["G"])
    assert calls and calls[-1][0] == 4
    assert {"loss_d", "loss_g", "steps_per_s", "eta_s"} <= calls[-1][1].keys()
    assert calls[-1][1]["eta_s"] == 0
    # the caller that takes the reports prints them; the library does not print them a second time
    assert "step 4/4" in describe_progress(4, 4, calls[-1][1]) and "0:00 left" in describe_progress(4, 4, calls[-1][1])
    assert "step 4/4" not in caplog.text
    assert list(path.parent.iterdir()) == [path], "no temporary files are left behind"


def test_dataset_smaller_than_batch(tmp_path: Path) -> None:
    data = MovingBars(per_class=1)  # 3 clips, batch of 4
    train(data, CLASSES, _config(steps=2, batch_size=4), CLIP, tmp_path / "ckpt.pt")
    assert load_checkpoint(tmp_path / "ckpt.pt")["step"] == 2


def test_training_leaves_the_global_rng_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train(MovingBars(), CLASSES, _config(steps=1), CLIP, tmp_path / "ckpt.pt")
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_resume_is_exact(tmp_path: Path, precision: str) -> None:
    data = MovingBars()
    straight = train(data, CLASSES, _config(steps=4, precision=precision), CLIP, tmp_path / "straight.pt")
    # stop after 3 steps (not on a checkpoint_every boundary), then continue to 4
    resumed = tmp_path / "resumed.pt"
    train(data, CLASSES, _config(steps=3, precision=precision), CLIP, resumed)
    assert load_checkpoint(resumed)["step"] == 3
    train(data, CLASSES, _config(steps=4, precision=precision), CLIP, resumed)

    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["step"] == b["step"] == 4
    for key in ("G", "G_ema", "D_video", "D_frame"):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name}"
    for key in ("opt_G", "opt_D"):
        for pid, state in a[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(value, b[key]["state"][pid][name]), f"{key}[{pid}].{name}"
    assert torch.equal(a["rng"], b["rng"])


def test_resume_when_already_done_changes_nothing(tmp_path: Path) -> None:
    path = train(MovingBars(), CLASSES, _config(steps=2), CLIP, tmp_path / "ckpt.pt")
    digest = _sha(path)
    train(MovingBars(), CLASSES, _config(steps=2), CLIP, path)
    assert _sha(path) == digest


@pytest.mark.parametrize(
    ("names", "config", "clip", "match"),
    [
        (["left", "right", "jump"], _config(), CLIP, "class_names"),
        (CLASSES, _config(lr_g=1e-3), CLIP, "lr_g"),
        (CLASSES, _config(model=ModelConfig(z_dim=16, channels=16)), CLIP, "model"),
        (CLASSES, _config(), ClipFormat(frames=8, size=32, fps=12), "clip"),
    ],
)
def test_resume_of_a_different_run_is_refused(tmp_path: Path, names, config, clip, match) -> None:
    path = train(MovingBars(), CLASSES, _config(steps=1), CLIP, tmp_path / "ckpt.pt")
    digest = _sha(path)
    with pytest.raises(ResumeMismatchError, match=match) as info:
        train(MovingBars(), names, config, clip, path)
    assert isinstance(info.value, CheckpointError) and isinstance(info.value, ValueError)
    assert str(path) in str(info.value)
    assert _sha(path) == digest, "the other run's checkpoint is not overwritten"


def test_wrong_clip_shape_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="clip format"):
        train(MovingBars(), CLASSES, _config(steps=1), ClipFormat(frames=16, size=32), tmp_path / "ckpt.pt")


def test_label_out_of_range_is_a_clear_error(tmp_path: Path) -> None:
    data = MovingBars()
    data.items = [(clip, 2) for clip, _ in data.items]
    with pytest.raises(ValueError, match="labels"):
        train(data, CLASSES[:2], _config(steps=1), CLIP, tmp_path / "ckpt.pt")


class _CountingReads(MovingBars):
    """MovingBars that counts how often each clip is read (a clip dataset decodes on every read)."""

    def __init__(self) -> None:
        super().__init__(per_class=2)
        self.reads = [0] * len(self.items)

    def __getitem__(self, i):
        self.reads[i] += 1
        return super().__getitem__(i)


def test_training_decodes_each_clip_once_and_writes_the_same_checkpoint(tmp_path: Path, monkeypatch) -> None:
    """Decoded clips are kept in memory, so 6 steps of 4 clips read each of the 6 clips at most once,
    and the checkpoint is byte-identical to a run that reads every clip each time (cache budget 0)."""
    import generators.training as training

    data = _CountingReads()
    kept = train(data, CLASSES, _config(steps=6), CLIP, tmp_path / "kept.pt")
    assert max(data.reads) == 1 and sum(data.reads) >= 4

    monkeypatch.setattr(training, "CLIP_CACHE_BYTES", 0)
    uncached = _CountingReads()
    again = train(uncached, CLASSES, _config(steps=6), CLIP, tmp_path / "again.pt")
    assert sum(uncached.reads) == 6 * 4  # one batch of real clips per step, every clip read again
    assert _sha(again) == _sha(kept)
