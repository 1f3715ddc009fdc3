"""Shared fixtures: small configurations whose runs finish in seconds on two CPU cores."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from schemas.config import AugmentConfig  # noqa: E402


def tiny_config_dict(output_root) -> dict:
    """Two classes, 8-frame 32x32 clips, a few training steps: every stage runs, nothing is slow."""
    return {
        "name": "augment-test",
        "dataset": "tiny",
        "output_root": str(output_root),
        "clip": {"frames": 8, "size": 32, "fps": 8},
        "source": {"kind": "procedural", "classes": ["walk_left", "jump"], "clips_per_class": 6, "seed": 1},
        "train": {"steps": 3, "batch_size": 4, "checkpoint_every": 2, "model": {"z_dim": 16, "channels": 8}},
        "generate": {"clips_per_class": 5, "batch_size": 4, "shard_size": 4},
        "publish": {"previews_per_class": 2},
    }


@pytest.fixture
def tiny_config(tmp_path) -> AugmentConfig:
    return AugmentConfig.model_validate(tiny_config_dict(tmp_path / "out"))
