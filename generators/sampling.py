"""Sampling: clips as a pure function of (checkpoint, label, seed, truncation).

Each clip's latent is drawn from its own ``torch.Generator`` seeded with that
clip's seed, so a clip does not depend on which other clips share its batch
or in which order the batch lists them. The generator network itself has no
batch statistics (see :class:`generators.networks.ConditionalGroupNorm`).

Bitwise batch independence is a separate matter: oneDNN picks kernels by
batch size (on CPU, batches of 1 to 7 rounded differently from batches of 8
or more, by up to one bf16 step), and cuDNN may do the same. :func:`sample`
therefore runs the network in fixed-size chunks (:data:`CHUNK`, the last one
padded with copies of the first clip), so every clip is bitwise identical
whatever batch it was requested in and wherever it sits in it; the tests
check this on CPU in bf16 and fp32. On CUDA, cuDNN autotuning
(``torch.backends.cudnn.benchmark``) must stay off for the same guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from generators.device import autocast, resolve_precision
from generators.video import to_uint8

__all__ = ["CHUNK", "LayerBatch", "SampleBatch", "latents", "sample", "sample_layers"]

CHUNK = 8  # clips per network call; fixed so that results do not depend on the request's batch size


@dataclass(frozen=True)
class SampleBatch:
    """Generated clips and their foreground masks, in I/O layout."""

    videos: np.ndarray  # uint8 (B, T, H, W, 3)
    masks: np.ndarray  # float32 (B, T, H, W) in [0, 1]; 1 = foreground


@dataclass(frozen=True)
class LayerBatch:
    """The generator's layers of each clip, in I/O layout, for compositing actors into other scenes."""

    foregrounds: np.ndarray  # float32 (B, T, H, W, 3) in [0, 1]
    masks: np.ndarray  # float32 (B, T, H, W) in [0, 1]; 1 = foreground
    backgrounds: np.ndarray  # float32 (B, H, W, 3) in [0, 1]: the scene the generator lit its actor for


def latents(seeds: Sequence[int], z_dim: int, truncation: float = 1.0) -> torch.Tensor:
    """Latents (B, z_dim) on the CPU, row i drawn from ``torch.Generator().manual_seed(seeds[i])``.

    Truncation scales the standard-normal latent by ``truncation``: 1.0 leaves
    it unchanged, values below 1 pull samples towards the mode (more typical,
    less diverse clips), values above 1 push them out. This is the "reduced
    temperature" form of the truncation trick (Kingma & Dhariwal 2018, Glow;
    Brock et al. 2019 use resampling beyond a threshold instead).
    """
    if truncation <= 0:
        raise ValueError(f"truncation must be positive, got {truncation}")
    rows = [torch.randn(z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
    return torch.stack(rows) * truncation if rows else torch.empty(0, z_dim)


def sample(
    G: nn.Module,
    labels: Sequence[int],
    seeds: Sequence[int],
    truncation: float = 1.0,
    *,
    device: str | torch.device = "cpu",
    precision: str = "auto",
) -> SampleBatch:
    """Generate one clip per ``(labels[i], seeds[i])`` with generator ``G`` (already on ``device``).

    ``G`` is any family of generators/architectures.py (it has
    ``forward_parts``, ``num_classes``, ``z_dim``, ``frames`` and ``size``).

    ``precision`` is ``"auto"`` (:func:`~generators.device.resolve_precision`), ``"bf16"`` (autocast: fast on CPUs with
    AVX-512 BF16 and on recent GPUs) or ``"fp32"``; it is part of what a clip
    is a function of, so record it beside the seed.
    """
    t, s = G.frames, G.size
    empty = (np.empty((0, t, s, s, 3), np.uint8), np.empty((0, t, s, s), np.float32))
    return SampleBatch(*_collect(G, labels, seeds, truncation, device, precision, _clip_arrays, empty))


def sample_layers(
    G: nn.Module,
    labels: Sequence[int],
    seeds: Sequence[int],
    truncation: float = 1.0,
    *,
    device: str | torch.device = "cpu",
    precision: str = "auto",
) -> LayerBatch:
    """Like :func:`sample`, but the foreground, mask and background apart, as floats in [0, 1].

    The same ``(label, seed)`` gives the layers that :func:`sample` blends into its clip,
    so an actor composited elsewhere is the very actor of the generator's own clip.
    """
    t, s = G.frames, G.size
    empty = tuple(np.empty(shape, np.float32) for shape in ((0, t, s, s, 3), (0, t, s, s), (0, s, s, 3)))
    return LayerBatch(*_collect(G, labels, seeds, truncation, device, precision, _layer_arrays, empty))


def _clip_arrays(parts) -> tuple[np.ndarray, ...]:
    """One chunk's :class:`SampleBatch` fields: the blended clip as uint8 and the mask."""
    return to_uint8(parts.video), _mask(parts)


def _layer_arrays(parts) -> tuple[np.ndarray, ...]:
    """One chunk's :class:`LayerBatch` fields: foreground, mask and background as floats in [0, 1]."""
    foreground = ((parts.foreground.float() + 1) / 2).permute(0, 2, 3, 4, 1).cpu().numpy()
    background = ((parts.background.float() + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    return foreground, _mask(parts), background


def _mask(parts) -> np.ndarray:
    """The foreground mask (B, T, H, W) as float32 on the CPU."""
    return parts.mask[:, 0].float().cpu().numpy()


def _collect(G: nn.Module, labels: Sequence[int], seeds: Sequence[int], truncation: float,
             device: str | torch.device, precision: str, convert, empty: tuple[np.ndarray, ...]):
    """``convert`` applied to every chunk of :func:`_chunks`, each field concatenated and cut to the request.

    The one path :func:`sample` and :func:`sample_layers` share: the arguments are checked (in
    :func:`_chunks`) before anything else, so both raise the same errors, and the padding of
    the last chunk is dropped here. ``empty`` is what an empty request returns (no network call).
    """
    fields = [convert(parts) for parts in _chunks(G, labels, seeds, truncation, device, precision)]
    if not fields:
        return empty
    return tuple(np.concatenate(column)[: len(labels)] for column in zip(*fields))


def _chunks(G: nn.Module, labels: Sequence[int], seeds: Sequence[int], truncation: float,
            device: str | torch.device, precision: str):
    """The network's parts for ``(labels, seeds)``, :data:`CHUNK` clips per call (the last chunk padded)."""
    if len(labels) != len(seeds):
        raise ValueError(f"got {len(labels)} labels but {len(seeds)} seeds")
    device = torch.device(device)
    precision = resolve_precision(precision, device)
    param_device = next(G.parameters()).device
    if param_device.type != device.type:
        raise ValueError(f"generator is on {param_device}, sampling was asked to run on {device}")
    bad = [y for y in labels if not 0 <= int(y) < G.num_classes]
    if bad:
        raise ValueError(f"labels {bad} outside [0, {G.num_classes})")

    n = len(labels)
    if n == 0:
        return
    z = latents(seeds, G.z_dim, truncation)
    y = torch.tensor([int(v) for v in labels], dtype=torch.long)
    pad = -n % CHUNK
    z = torch.cat([z, z[:1].expand(pad, -1)])
    y = torch.cat([y, y[:1].expand(pad)])

    with torch.inference_mode(), autocast(device, precision):
        for i in range(0, n + pad, CHUNK):
            yield G.forward_parts(z[i : i + CHUNK].to(device), y[i : i + CHUNK].to(device))
