"""The one conversion between I/O clips and model tensors.

At I/O boundaries (decoders, encoders, shards, datasets) a clip is uint8
``(T, H, W, 3)`` and a batch ``(B, T, H, W, 3)``; inside the networks it is
float ``(B, 3, T, H, W)`` in ``[-1, 1]``. Keeping both directions here means
the scaling and the rounding rule exist once, so ``to_uint8(to_model(x)) == x``
holds exactly for every uint8 clip.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch


class ClipSource(Protocol):
    """What training and the judge read: a map-style dataset of ``(uint8 clip (T, H, W, 3), int label)``.

    :class:`pipelines.ClipDataset` is one; any list of pairs is another.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[Any, int]: ...

__all__ = ["to_model", "to_uint8"]


def to_model(
    clips: np.ndarray | torch.Tensor,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """uint8 ``(B, T, H, W, 3)`` or ``(T, H, W, 3)`` -> float ``(B, 3, T, H, W)`` or ``(3, T, H, W)`` in [-1, 1].

    The batch dimension is kept if present and not invented if absent.
    ``memory_format=torch.channels_last_3d`` (batched input only) is free: the
    I/O layout already is channels-last, so no copy is made.
    """
    t = torch.as_tensor(clips)
    if t.dtype != torch.uint8:
        raise TypeError(f"expected uint8 clips, got {t.dtype}")
    if t.ndim not in (4, 5) or t.shape[-1] != 3:
        raise ValueError(f"expected (T, H, W, 3) or (B, T, H, W, 3), got shape {tuple(t.shape)}")
    # channel axis moves from last to just after the batch axis (a view)
    t = t.to(device=device, non_blocking=True).movedim(-1, -4)
    return t.to(dtype).mul_(1 / 127.5).sub_(1.0).contiguous(memory_format=memory_format)


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """float ``(B, 3, T, H, W)`` or ``(3, T, H, W)`` in [-1, 1] -> uint8 ``(B, T, H, W, 3)`` or ``(T, H, W, 3)``.

    Values outside [-1, 1] are clipped; rounding is to nearest, which makes this
    the exact inverse of :func:`to_model` on uint8 input.
    """
    if video.ndim not in (4, 5) or video.shape[-4] != 3:
        raise ValueError(f"expected (3, T, H, W) or (B, 3, T, H, W), got shape {tuple(video.shape)}")
    v = video.detach().float()
    v = ((v + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return np.ascontiguousarray(v.movedim(-4, -1).cpu().numpy())
