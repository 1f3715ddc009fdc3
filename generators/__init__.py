"""Class-conditional video GANs: networks, training, sampling, checkpoints and per-clip metrics.

The public surface (everything else is internal):

* ``VideoGenerator(num_classes, z_dim, channels, frames, size)`` — two-stream
  VGAN generator; ``G(z, y)`` -> (B, 3, T, H, W) in [-1, 1],
  ``G.forward_parts(z, y)`` -> video, mask, foreground, background.
  ``ContentMotionGenerator`` (same signature and interface) is the content +
  motion family; ``GENERATORS`` maps ``ModelConfig.architecture`` to the
  class and ``build_generator(model_config, num_classes, clip)`` builds one.
* ``train(dataset, class_names, config, clip, checkpoint_path, *, progress=None) -> Path``
  — trains or resumes; deterministic from ``config.seed``. ``resolve_device("auto")``
  is the device rule it uses (CUDA if available, else CPU).
* ``sample(G, labels, seeds, truncation=1.0, *, device="cpu", precision="auto") -> SampleBatch``
  (seeds per clip come from the plan: ``pipelines.jobs.plan.derive_seed``);
  ``with torch_threads(n):`` runs a block on ``n`` torch threads and restores the caller's count.
* ``load_generator(path, device="cpu", architecture=None) -> (G_ema, CheckpointInfo)``,
  ``read_checkpoint_info(path)`` (class names, clip format, config, step, sha256; no weights read), ``save_checkpoint``,
  ``load_checkpoint``, ``CheckpointError``, ``ResumeMismatchError``.
* ``to_model(clips)`` / ``to_uint8(video)`` — the one I/O <-> model tensor conversion.

Names are imported lazily (PEP 562), so ``import generators`` loads torch only when a
name is first used. Boxes, visibility and event spans from masks are :mod:`schemas.labels`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "VideoGenerator": "generators.networks",
    "VideoParts": "generators.networks",
    "ContentMotionGenerator": "generators.cmgan",
    "GENERATORS": "generators.architectures",
    "build_generator": "generators.architectures",
    "train": "generators.training",
    "ResumeMismatchError": "generators.training",
    "resolve_device": "generators.device",
    "sample": "generators.sampling",
    "SampleBatch": "generators.sampling",
    "torch_threads": "generators.device",
    "load_generator": "generators.checkpoint",
    "save_checkpoint": "generators.checkpoint",
    "load_checkpoint": "generators.checkpoint",
    "CheckpointError": "generators.checkpoint",
    "CheckpointInfo": "generators.checkpoint",
    "read_checkpoint_info": "generators.checkpoint",
    "to_model": "generators.video",
    "to_uint8": "generators.video",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from generators.architectures import GENERATORS, build_generator
    from generators.checkpoint import (
        CheckpointError,
        CheckpointInfo,
        load_checkpoint,
        load_generator,
        read_checkpoint_info,
        save_checkpoint,
    )
    from generators.cmgan import ContentMotionGenerator
    from generators.networks import VideoGenerator, VideoParts
    from generators.device import resolve_device, torch_threads
    from generators.sampling import SampleBatch, sample
    from generators.training import ResumeMismatchError, train
    from generators.video import to_model, to_uint8


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'generators' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
