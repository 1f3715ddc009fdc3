"""Checkpoints: atomic writes, data-only loads, clear errors, and the generator loader."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    REQUIRED_KEYS,
    CheckpointError,
    load_checkpoint,
    load_generator,
    read_checkpoint_info,
    save_checkpoint,
)
from generators.networks import VideoGenerator
from generators.sampling import sample
from generators.training import train
from schemas.config import ClipFormat, ModelConfig, TrainConfig

CLIP = ClipFormat(frames=8, size=32, fps=8)
CLASSES = ["a", "b"]
CONFIG = TrainConfig(steps=2, batch_size=2, precision="fp32", device="cpu", model=ModelConfig(z_dim=16, channels=8))


class Smuggled:
    """Not plain data: unpickling it would run this module's code."""


class _Noise:
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.items = [(rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8), i % 2) for i in range(4)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train(_Noise(), CLASSES, CONFIG, CLIP, tmp_path_factory.mktemp("run") / "ckpt.pt")


def _minimal_state() -> dict:
    return {k: 0 for k in REQUIRED_KEYS} | {"G": {"w": torch.arange(3.0)}}


def test_round_trip_and_format_tag(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "sub" / "x.pt", _minimal_state())
    ckpt = load_checkpoint(path)
    assert ckpt["format"] == CHECKPOINT_FORMAT and ckpt["version"] == CHECKPOINT_VERSION
    torch.testing.assert_close(ckpt["G"]["w"], torch.arange(3.0))
    assert list(path.parent.iterdir()) == [path]


def test_incomplete_state_is_not_saved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lacks"):
        save_checkpoint(tmp_path / "x.pt", {"step": 1})
    assert not list(tmp_path.iterdir())


def test_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "x.pt", _minimal_state())
    before = path.read_bytes()
    bad = _minimal_state() | {"step": lambda: None}  # torch.save cannot pickle a lambda
    with pytest.raises(Exception):
        save_checkpoint(path, bad)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_truncated_file_raises(trained: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pt"
    data = trained.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_checkpoint(cut)
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_generator(cut)


def test_garbage_and_missing_files_raise(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00not a checkpoint" * 100)
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="absent.pt"):
        load_checkpoint(tmp_path / "absent.pt")
    assert issubclass(CheckpointError, ValueError)


def test_wrong_format_tag_or_version_raises(tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"format": "someone-else", **_minimal_state()}, other)
    with pytest.raises(CheckpointError, match="format tag 'someone-else'"):
        load_checkpoint(other)
    torch.save({"state_dict": {}}, other)  # a plain torch file, no tag at all
    with pytest.raises(CheckpointError, match="other.pt"):
        load_checkpoint(other)
    torch.save({"format": CHECKPOINT_FORMAT, "version": 99, **_minimal_state()}, other)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(other)
    torch.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": 0}, other)
    with pytest.raises(CheckpointError, match="lacks"):
        load_checkpoint(other)


def test_code_in_a_pickle_is_refused(tmp_path: Path) -> None:
    """weights_only=True: a checkpoint that would construct an arbitrary class does not load."""
    evil = tmp_path / "evil.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **_minimal_state(), "extra": Smuggled()}, evil)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(evil)
    # the same goes for a bare pickle file
    evil.write_bytes(pickle.dumps(Smuggled(), protocol=2))
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(evil)


def test_load_generator(trained: Path) -> None:
    G, info = load_generator(trained)
    assert isinstance(G, VideoGenerator) and not G.training
    assert not any(p.requires_grad for p in G.parameters())
    assert list(info.class_names) == CLASSES
    assert info.clip == CLIP and info.config == CONFIG
    assert info.step == 2
    assert info.sha256 == hashlib.sha256(trained.read_bytes()).hexdigest()
    assert read_checkpoint_info(trained) == info
    # the loaded generator is the EMA one
    ema = load_checkpoint(trained)["G_ema"]
    for name, value in G.state_dict().items():
        assert torch.equal(value, ema[name])
    # and a clip is a function of (checkpoint, label, seed, truncation): reloading changes nothing
    G2, _ = load_generator(trained)
    np.testing.assert_array_equal(sample(G, [1], [9]).videos, sample(G2, [1], [9]).videos)


def test_generator_weights_that_do_not_fit_raise(trained: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(trained)
    ckpt["config"]["model"]["channels"] = 16  # claims a wider network than the weights hold
    state = {k: v for k, v in ckpt.items() if k not in ("format", "version")}
    path = save_checkpoint(tmp_path / "lying.pt", state)
    with pytest.raises(CheckpointError, match="lying.pt"):
        load_generator(path)
