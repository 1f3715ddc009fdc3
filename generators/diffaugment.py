"""Differentiable augmentation of the clips both critics see (DiffAugment for video).

With a few hundred real clips the critics memorise the training set: on the
procedural demo set (288 clips) D(real) kept rising and D(fake) falling
through training, and the generator learnt what separates a clip from the
memorised ones rather than what separates the classes. Zhao et al. 2020
("Differentiable Augmentation for Data-Efficient GAN Training") and Karras et
al. 2020 (StyleGAN2-ADA) show the remedy: augment every clip a critic sees,
real and fake, in the discriminator and in the generator update alike, with
transformations through which gradients flow, so the critic cannot memorise
and the generator is not taught the augmentations (they apply to its output
too, so they do not leak into it).

The policy is DiffAugment's ``color,translation,cutout``, applied per clip and
identically to every frame of it, so that motion, the thing that defines an
action, is left intact:

* ``color``: brightness shift, saturation and contrast scale;
* ``translation``: shift by up to 1/8 of the frame, zero padded;
* ``cutout``: one zeroed square of half the frame side (a static occluder).

Flips are never used: a mirrored ``walk_left`` is a ``walk_right``. Every
random draw comes from the caller's ``torch.Generator``, so training stays
reproducible and resumable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import torch
import torch.nn.functional as F

from schemas.config import Augmentation

__all__ = ["AUGMENTATIONS", "diffaugment"]

AUGMENTATIONS: tuple[str, ...] = get_args(Augmentation)
_SHIFT = 1 / 8  # largest translation, as a fraction of the frame side
_CUTOUT = 1 / 2  # side of the cutout square, as a fraction of the frame side


def _uniform(n: int, rng: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """(n, 1, 1, 1, 1) uniform [0, 1) draws, on the CPU then moved, so the stream is device-independent."""
    return torch.rand(n, 1, 1, 1, 1, generator=rng).to(device=like.device, dtype=like.dtype)


def _color(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_uniform(n, rng, x) - 0.5)  # brightness, in [-1, 1] units
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (2 * _uniform(n, rng, x)) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3, 4), keepdim=True)
    return (x - mean) * (_uniform(n, rng, x) + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n, _, _, h, w = x.shape
    ph, pw = max(1, round(h * _SHIFT)), max(1, round(w * _SHIFT))
    dy = torch.randint(0, 2 * ph + 1, (n,), generator=rng).tolist()
    dx = torch.randint(0, 2 * pw + 1, (n,), generator=rng).tolist()
    padded = F.pad(x, (pw, pw, ph, ph))
    return torch.stack([padded[i, :, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def _cutout(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n, _, _, h, w = x.shape
    ch, cw = max(1, round(h * _CUTOUT)), max(1, round(w * _CUTOUT))
    # the square's centre lies anywhere in the frame; the square is clipped at the edges
    cy = torch.randint(0, h, (n, 1, 1), generator=rng)
    cx = torch.randint(0, w, (n, 1, 1), generator=rng)
    rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    inside = ((rows - cy).abs() <= ch // 2) & ((cols - cx).abs() <= cw // 2)
    keep = (~inside).to(device=x.device, dtype=x.dtype).view(n, 1, 1, h, w)
    return x * keep


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diffaugment(video: torch.Tensor, policy: Sequence[str], rng: torch.Generator) -> torch.Tensor:
    """Augment clips (B, 3, T, H, W) with the named transformations, in :data:`AUGMENTATIONS` order.

    Each clip gets its own random parameters, the same for all its frames. An
    empty policy returns ``video`` itself.
    """
    unknown = sorted(set(policy) - set(AUGMENTATIONS))
    if unknown:
        raise ValueError(f"unknown augmentations {unknown}; known: {list(AUGMENTATIONS)}")
    for name in AUGMENTATIONS:
        if name in policy:
            video = _OPS[name](video, rng)
    return video.contiguous(memory_format=torch.channels_last_3d) if policy else video
