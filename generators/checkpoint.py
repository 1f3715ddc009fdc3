"""Checkpoints: atomic saves, data-only loads, and the generator loader used by generation.

A checkpoint is data, never code: it is read with ``torch.load(...,
weights_only=True)``, which refuses any pickle that would construct arbitrary
objects. Configuration travels as plain JSON-able dicts (``model_dump(mode="json")``)
rather than pydantic objects for the same reason.

Writes go to a temporary file in the destination folder, are fsynced, then
renamed over the final name (``os.replace`` is atomic on POSIX and Windows),
so a crash mid-save leaves either the old checkpoint or the new one, never half
of one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from generators.architectures import build_generator
from schemas.atomic import atomic_open
from schemas.config import ClipFormat, TrainConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "REQUIRED_KEYS",
    "CheckpointError",
    "CheckpointInfo",
    "load_checkpoint",
    "load_generator",
    "read_checkpoint_info",
    "save_checkpoint",
]

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "vgan-augment/video-gan-checkpoint"
# 2: the video critic also sees the clip minus its temporal mean (6 input channels).
CHECKPOINT_VERSION = 2

#: keys every checkpoint holds besides the format tag and version
REQUIRED_KEYS = (
    "config",  # TrainConfig.model_dump(mode="json")
    "clip",  # ClipFormat.model_dump(mode="json")
    "class_names",  # list[str]; label i is class_names[i]
    "step",  # completed generator updates
    "G",
    "G_ema",
    "D_video",
    "D_frame",  # state dicts
    "opt_G",
    "opt_D",  # optimizer state dicts
    "rng",  # torch.Generator state (uint8 tensor) that draws batches, latents and frames
)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: unreadable, truncated, not data-only, or not ours."""


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any]) -> Path:
    """Write ``state`` (plus format tag and version) to ``path`` atomically; returns the path."""
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    path = torch_save_atomic(path, {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state})
    log.debug("saved checkpoint %s (step %s)", path, state["step"])
    return path


def torch_save_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsynced, then renamed over it."""
    with atomic_open(path) as f:
        torch.save(obj, f)
    return Path(path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e


def _parse(data: bytes, path: Path, map_location: str | torch.device) -> dict[str, Any]:
    try:
        ckpt = torch.load(io.BytesIO(data), weights_only=True, map_location=map_location)
    except Exception as e:  # truncated zip, bad pickle, or a pickle that is not plain data
        raise CheckpointError(f"{path} is not a readable data-only checkpoint ({type(e).__name__}: {e})") from e
    return _check(ckpt, path)


def _check(ckpt: Any, path: Path) -> dict[str, Any]:
    """The format tag, version and entries of a loaded checkpoint, or a :class:`CheckpointError` naming ``path``."""
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        tag = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint (format tag {tag!r})")
    if ckpt.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {ckpt.get('version')!r}; this code reads version {CHECKPOINT_VERSION}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path} lacks checkpoint entries {missing}")
    return ckpt


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint written by :func:`save_checkpoint`.

    Raises :class:`CheckpointError` (naming ``path``) for a missing, truncated or
    corrupt file, for a pickle that is not plain data, and for a wrong format
    tag, version or missing entries.
    """
    path = Path(path)
    return _parse(_read(path), path, map_location)


@dataclass(frozen=True)
class CheckpointInfo:
    """What the rest of the project needs to know about a checkpoint, without its weights.

    ``class_names[i]`` is the name of label ``i``; ``sha256`` is the digest of
    the checkpoint file, so it names exactly the weights a generator was loaded from.
    """

    class_names: tuple[str, ...]
    clip: ClipFormat
    config: TrainConfig
    step: int
    sha256: str


def _info(ckpt: dict[str, Any], path: Path, sha256: str) -> CheckpointInfo:
    try:
        clip = ClipFormat.model_validate(ckpt["clip"])
        config = TrainConfig.model_validate(ckpt["config"])
    except ValidationError as e:
        raise CheckpointError(f"{path} holds a configuration this code does not accept: {e}") from e
    return CheckpointInfo(tuple(str(c) for c in ckpt["class_names"]), clip, config, int(ckpt["step"]), sha256)


def read_checkpoint_info(path: str | os.PathLike) -> CheckpointInfo:
    """The class names, clip format, training config, step and sha256 of a checkpoint.

    The file is hashed but its tensors are memory-mapped, never read into
    memory, so asking a checkpoint for its classes costs no network rebuild.
    """
    path = Path(path)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu", mmap=True)
    except Exception as e:  # truncated zip, bad pickle, or a pickle that is not plain data
        raise CheckpointError(f"{path} is not a readable data-only checkpoint ({type(e).__name__}: {e})") from e
    return _info(_check(ckpt, path), path, h.hexdigest())


def load_generator(
    path: str | os.PathLike, device: str | torch.device = "cpu", architecture: str | None = None
) -> tuple[nn.Module, CheckpointInfo]:
    """The EMA generator of a checkpoint, in eval mode, and its :class:`CheckpointInfo`.

    The generator family is the one the checkpoint's configuration records
    (``train.model.architecture``; checkpoints from before families existed
    are ``vgan``). With ``architecture`` given, a checkpoint of another family
    is a :class:`CheckpointError` rather than a network of the wrong kind. The
    digest and the weights come from the same bytes, so the digest names
    exactly what was loaded.
    """
    path = Path(path)
    data = _read(path)
    ckpt = _parse(data, path, "cpu")
    info = _info(ckpt, path, hashlib.sha256(data).hexdigest())
    if architecture is not None and architecture != info.config.model.architecture:
        raise CheckpointError(
            f"{path} holds a {info.config.model.architecture!r} generator, not the {architecture!r} asked for"
        )
    G = build_generator(info.config.model, len(info.class_names), info.clip)
    try:
        G.load_state_dict(ckpt["G_ema"])
    except RuntimeError as e:
        raise CheckpointError(f"{path}: generator weights do not fit the network its config describes: {e}") from e
    G.eval().requires_grad_(False).to(device)
    return G, info
