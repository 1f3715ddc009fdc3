"""Training data for downstream recognizers: real clips mixed with published synthetic versions.

:class:`MixedClips` is a PyTorch ``IterableDataset``. One epoch is every real
clip once plus as many synthetic clips as the chosen synthetic fraction asks
for, shuffled together. What an epoch holds and in which order is a pure
function of ``(seed, epoch)``; the epoch is then split between distributed
ranks and between the ``DataLoader`` workers of each rank, so that every clip
of the epoch is read exactly once, by one worker, whatever the number of
workers. Synthetic clips are drawn without replacement across epochs: all of
them are used once before any is used again.

:class:`ClipTransform` holds the usual clip augmentations (random resized crop,
horizontal flip with a label mirror, brightness and contrast jitter), applied
the same way to every frame of a clip and drawn from a generator seeded by
``(seed, epoch, position in the epoch)``, so an augmented epoch is
reproducible too.

Labels follow the real dataset: a synthetic class is matched to the real one
of the same ``label_name``, and a synthetic class the real data lacks is an
error rather than a silently wrong label.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import IterableDataset, get_worker_info

from pipelines.dataset.reader import ClipDataset

__all__ = ["ClipTransform", "MixedClips"]


def _as_dataset(data: ClipDataset | str | os.PathLike, split: str | None) -> ClipDataset:
    return data if isinstance(data, ClipDataset) else ClipDataset(data, split=split)


@dataclass(frozen=True)
class ClipTransform:
    """Spatial and photometric clip augmentations, the same for all frames of a clip.

    ``crop_scale``: the area share of a random square crop, resized back to
    the clip size (the "random resized crop" of image and video recognition
    training). ``hflip``: probability of a horizontal flip; a flip turns a
    ``walk_left`` into a ``walk_right``, so ``mirror`` maps each label whose
    meaning flips to its mirrored label, and labels not in it keep theirs.
    ``brightness`` and ``contrast``: the largest relative change of each.
    """

    crop_scale: tuple[float, float] = (0.7, 1.0)
    hflip: float = 0.0
    mirror: Mapping[int, int] = field(default_factory=dict)
    brightness: float = 0.1
    contrast: float = 0.1

    def __post_init__(self) -> None:
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {self.crop_scale}")
        if not 0 <= self.hflip <= 1:
            raise ValueError(f"hflip is a probability, got {self.hflip}")
        if self.brightness < 0 or self.contrast < 0:
            raise ValueError("brightness and contrast must be non-negative")

    def __call__(self, video: torch.Tensor, label: int, rng: np.random.Generator) -> tuple[torch.Tensor, int]:
        """uint8 ``(T, H, W, 3)`` -> an augmented uint8 clip of the same shape, and its (possibly mirrored) label."""
        t, h, w, _ = video.shape
        side = max(2, round(math.sqrt(rng.uniform(*self.crop_scale)) * min(h, w)))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        x = video[:, y0 : y0 + side, x0 : x0 + side].permute(0, 3, 1, 2).float()
        if side != h or side != w:
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=side > min(h, w))
        if rng.random() < self.hflip:
            x = x.flip(-1)
            label = self.mirror.get(label, label)
        gain = 1 + rng.uniform(-self.contrast, self.contrast)
        shift = 255 * rng.uniform(-self.brightness, self.brightness)
        x = (x - x.mean()) * gain + x.mean() + shift
        return x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous(), label


class MixedClips(IterableDataset):
    """Real clips plus synthetic versions at a chosen fraction, sharded over ranks and workers.

    ``real``: a clip dataset (used whole, e.g. a k-shot view) or its path (a
    version folder or a dataset folder with ``latest``), of which
    ``real_split`` is used. ``synthetic``: any number of published versions
    (or their paths), pooled.
    ``synthetic_fraction``: the synthetic share of each epoch, in [0, 1]; at
    ``f < 1`` an epoch holds every real clip once and ``round(n_real * f / (1 - f))``
    synthetic clips, at 1 every synthetic clip once and no real one.
    ``rank``/``world_size``: this process's place in distributed training;
    every rank gets the same number of clips (the last ``total % world_size``
    of an epoch are left out, as ``DistributedSampler(drop_last=True)`` does),
    so no rank waits at a collective for another.
    Items are ``(uint8 tensor (T, H, W, 3), label)`` like :class:`ClipDataset`'s.
    Call :meth:`set_epoch` before each epoch, as with ``DistributedSampler``
    (with ``persistent_workers=True`` the workers would not see it).
    """

    def __init__(
        self,
        real: ClipDataset | str | os.PathLike,
        synthetic: Sequence[ClipDataset | str | os.PathLike] = (),
        synthetic_fraction: float = 0.0,
        *,
        real_split: str | None = "train",
        transform: ClipTransform | None = None,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= synthetic_fraction <= 1:
            raise ValueError(f"synthetic_fraction must lie in [0, 1], got {synthetic_fraction}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, world_size={world_size}), got {rank}")
        self.real = _as_dataset(real, real_split)
        self.synthetic = [_as_dataset(s, None) for s in synthetic]
        if synthetic_fraction > 0 and not sum(len(s) for s in self.synthetic):
            raise ValueError(f"synthetic_fraction is {synthetic_fraction} but no synthetic clips were given")
        if synthetic_fraction < 1 and not len(self.real):
            raise ValueError(f"{self.real.root} has no real clips in split {real_split!r}")
        self.class_names = self.real.class_names
        self._label_maps = [self._label_map(s) for s in self.synthetic]
        self.synthetic_fraction = synthetic_fraction
        self.transform, self.seed, self.shuffle = transform, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def _label_map(self, synthetic: ClipDataset) -> dict[int, int]:
        by_name = {name: label for label, name in self.class_names.items()}
        names = synthetic.class_names
        unknown = sorted(set(names.values()) - set(by_name))
        if unknown:
            raise ValueError(f"{synthetic.root} has classes {unknown} that the real data {self.real.root} lacks")
        return {label: by_name[name] for label, name in names.items()}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _n_synthetic_pool(self) -> int:
        return sum(len(s) for s in self.synthetic)

    def _n_synthetic(self) -> int:
        f = self.synthetic_fraction
        return self._n_synthetic_pool() if f == 1 else round(len(self.real) * f / (1 - f))

    def _n_real(self) -> int:
        return 0 if self.synthetic_fraction == 1 else len(self.real)

    def __len__(self) -> int:
        """Clips this rank reads per epoch (over all its workers)."""
        return (self._n_real() + self._n_synthetic()) // self.world_size

    def _synthetic_positions(self, epoch: int) -> np.ndarray:
        """Pool positions of this epoch's synthetic clips.

        Epochs take consecutive runs of one endless stream made of seeded
        permutations of the pool, so every synthetic clip is used once before
        any is used twice.
        """
        pool, n = self._n_synthetic_pool(), self._n_synthetic()
        if n == 0:
            return np.zeros(0, np.int64)
        start = epoch * n
        first, last = start // pool, (start + n - 1) // pool
        stream = np.concatenate([np.random.default_rng([self.seed, 1, b]).permutation(pool) for b in range(first, last + 1)])
        skip = start - first * pool
        return stream[skip : skip + n]

    def epoch_items(self, epoch: int) -> list[tuple[int, int]]:
        """The whole epoch (all ranks) as ``(source, position)``: source 0 is real, ``i + 1`` synthetic version ``i``."""
        items = [(0, i) for i in range(self._n_real())]
        offsets = np.cumsum([0] + [len(s) for s in self.synthetic])
        for p in self._synthetic_positions(epoch):
            v = int(np.searchsorted(offsets, p, side="right")) - 1
            items.append((v + 1, int(p - offsets[v])))
        if self.shuffle:
            order = np.random.default_rng([self.seed, 0, epoch]).permutation(len(items))
            items = [items[i] for i in order]
        return items

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        items = self.epoch_items(self.epoch)
        usable = len(items) - len(items) % self.world_size
        positions = range(self.rank, usable, self.world_size)[worker::workers]
        for at in positions:
            source, i = items[at]
            if source == 0:
                video, label = self.real[i]
            else:
                video, label = self.synthetic[source - 1][i]
                label = self._label_maps[source - 1][label]
            if self.transform is not None:
                video, label = self.transform(video, label, np.random.default_rng([self.seed, 2, self.epoch, at]))
            yield video, label
