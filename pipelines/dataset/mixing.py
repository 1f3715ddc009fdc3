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

:class:`MixRecipe` is how much synthetic data to mix in and how to train on it,
with the defaults measured by ``bench/augmentation_gain_recipe.py``: a synthetic
fraction that falls as real clips per class grow, a closing rehearsal on real
clips only, and optional per-clip loss weights from the quality gate's judge.
:class:`ArrayClips` holds decoded clips in memory, for sets small enough that
decoding every clip once beats decoding it every epoch.
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

__all__ = ["ArrayClips", "ClipTransform", "MixRecipe", "MixedClips", "judge_weights"]


class ArrayClips:
    """Decoded clips in memory, read like a :class:`ClipDataset`: ``(uint8 tensor (T, H, W, 3), label)`` items.

    ``class_names`` maps label to class name, as a dataset's does; ``root``
    only names the set in messages.
    """

    def __init__(self, videos: np.ndarray, labels: Sequence[int], class_names: Mapping[int, str], root: str = "<memory>"):
        if len(videos) != len(labels):
            raise ValueError(f"got {len(videos)} clips but {len(labels)} labels")
        if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
            raise ValueError(f"expected uint8 clips (N, T, H, W, 3), got {videos.dtype} {videos.shape}")
        self.videos, self.root = videos, root
        self.labels = [int(y) for y in labels]
        self.class_names = {int(y): class_names[int(y)] for y in sorted(set(self.labels))}

    @classmethod
    def decode(cls, data: ClipDataset) -> ArrayClips:
        """Every clip of ``data`` decoded once."""
        videos = np.stack([data.video(i) for i in range(len(data))]) if len(data) else np.zeros((0, 1, 1, 1, 3), np.uint8)
        return cls(videos, data.labels, data.class_names, str(data.root))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.videos[i]), self.labels[i]


Clips = ClipDataset | ArrayClips


def _as_dataset(data: Clips | str | os.PathLike, split: str | None) -> Clips:
    return data if isinstance(data, (ClipDataset, ArrayClips)) else ClipDataset(data, split=split)


def judge_weights(synthetic: ClipDataset) -> np.ndarray:
    """Per clip of a gated synthetic version, the judge's probability of its intended label, in dataset order.

    The index keeps the judge's top label and its probability
    (``judge_label``, ``judge_confidence``): where the top label is the
    intended one, that probability is the weight; where it is not, the
    intended label has at most ``1 - confidence``, shared here evenly among the
    other classes. An ungated version (no judge columns) is an error.
    """
    from pipelines.dataset.index_io import read_index
    from schemas.layout import INDEX

    table = read_index(synthetic.root / INDEX).select(["key", "label", "judge_label", "judge_confidence"]).to_pylist()
    by_key = {r["key"]: r for r in table}
    n_classes = max(len(ClipDataset(synthetic.root).class_names), 2)
    weights = []
    for row in synthetic.rows:
        r = by_key[row["key"]]
        if r["judge_label"] is None or r["judge_confidence"] is None:
            raise ValueError(f"{synthetic.root} has no judge columns for clip {row['key']}: it was not gated")
        conf = float(r["judge_confidence"])
        weights.append(conf if r["judge_label"] == r["label"] else (1 - conf) / (n_classes - 1))
    return np.asarray(weights, np.float32)


@dataclass(frozen=True)
class MixRecipe:
    """How to train on real plus synthetic clips so that the synthetic ones do not hurt.

    ``fractions``: ``(k, f)`` pairs in increasing ``k``: with at most ``k``
    real training clips per class the synthetic fraction is ``f``; beyond the
    last ``k`` it is ``f_beyond``. ``rehearsal``: the share of training steps,
    at the end, taken on real clips alone (two-stage training: mix, then
    rehearse on real clips, so the last updates fit the real distribution).
    ``confidence``: how the judge's probability of a synthetic clip's intended
    label (:func:`judge_weights`) enters its loss, so that clips whose pixels
    contradict their label teach less: ``"weight"`` (the loss is weighted by
    it), ``"smoothing"`` (its target is smoothed by one minus it; see
    :func:`evaluation.recognizer.clip_losses`) or ``"off"``. Defaults: see
    ``docs/augmentation-gain.md`` for the measurement they come from.
    """

    fractions: tuple[tuple[int, float], ...] = ((5, 0.5), (10, 0.25))
    f_beyond: float = 0.05
    rehearsal: float = 0.0
    confidence: str = "weight"

    def __post_init__(self) -> None:
        ks = [k for k, _ in self.fractions]
        if ks != sorted(ks) or any(k < 1 for k in ks):
            raise ValueError(f"fractions must be (k, f) pairs in increasing k >= 1, got {self.fractions}")
        if not all(0 <= f < 1 for _, f in self.fractions) or not 0 <= self.f_beyond < 1:
            raise ValueError("synthetic fractions must lie in [0, 1): a recipe always keeps real clips")
        if not 0 <= self.rehearsal < 1:
            raise ValueError(f"rehearsal is a share of the steps in [0, 1), got {self.rehearsal}")
        if self.confidence not in _CONFIDENCE:
            raise ValueError(f"confidence is one of {list(_CONFIDENCE)}, got {self.confidence!r}")

    def synthetic_fraction(self, k: float) -> float:
        """The synthetic share of each mixed epoch for ``k`` real training clips per class (a mean for uneven classes)."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        return next((f for limit, f in self.fractions if k <= limit), self.f_beyond)

    def split_steps(self, steps: int) -> tuple[int, int]:
        """``steps`` as (mixed steps, closing real-only rehearsal steps)."""
        rehearse = round(steps * self.rehearsal)
        return steps - rehearse, rehearse

    def describe(self) -> str:
        parts = [f"k<={k}: {f:g}" for k, f in self.fractions] + [f"beyond: {self.f_beyond:g}"]
        return (f"synthetic fraction by real clips per class ({', '.join(parts)}), last {self.rehearsal:.0%} of "
                f"steps real only, {_CONFIDENCE[self.confidence]}")

    @property
    def clip_values(self) -> str:
        """How the mixed stage's per-clip values enter the loss (:class:`evaluation.recognizer.Stage`)."""
        return "smoothing" if self.confidence == "smoothing" else "weight"


_CONFIDENCE = {"off": "equal loss weights", "weight": "judge-confidence loss weights",
               "smoothing": "label smoothing by judge uncertainty"}  # fmt: skip


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
        _t, h, w, _ = video.shape
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
    Items are ``(uint8 tensor (T, H, W, 3), label)`` like :class:`ClipDataset`'s;
    with ``weights=True`` they are ``(clip, label, loss weight)``: 1 for a real
    clip, ``synthetic_weights[v][i]`` (default 1) for clip ``i`` of synthetic
    version ``v``.
    Call :meth:`set_epoch` before each epoch, as with ``DistributedSampler``
    (with ``persistent_workers=True`` the workers would not see it).
    """

    def __init__(
        self,
        real: Clips | str | os.PathLike,
        synthetic: Sequence[Clips | str | os.PathLike] = (),
        synthetic_fraction: float = 0.0,
        *,
        real_split: str | None = "train",
        transform: ClipTransform | None = None,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        weights: bool = False,
        synthetic_weights: Sequence[Sequence[float]] | None = None,
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
        if synthetic_weights is not None:
            if not weights:
                raise ValueError("synthetic_weights are given but weights=False would drop them")
            if [len(w) for w in synthetic_weights] != [len(d) for d in self.synthetic]:
                raise ValueError("synthetic_weights must hold one weight per clip of each synthetic version")
            if any(float(x) < 0 for w in synthetic_weights for x in w):
                raise ValueError("loss weights must be non-negative")
        self.weights = weights
        self._synthetic_weights = [np.asarray(w, np.float32) for w in synthetic_weights] if synthetic_weights else None
        self._label_maps = [self._label_map(s) for s in self.synthetic]
        self.synthetic_fraction = synthetic_fraction
        self.transform, self.seed, self.shuffle = transform, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def _label_map(self, synthetic: Clips) -> dict[int, int]:
        by_name = {name: label for label, name in self.class_names.items()}
        names = synthetic.class_names
        unknown = sorted(set(names.values()) - set(by_name))
        if unknown:
            raise ValueError(f"{synthetic.root} has classes {unknown} that the real data {self.real.root} lacks")
        return {label: by_name[name] for label, name in names.items()}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self, batch_size: int, num_workers: int = 0):
        """``epoch -> DataLoader`` of that epoch's weighted batches: a stage of :func:`evaluation.recognizer.train_recognizer`.

        The last partial batch is dropped when the epoch holds more than one
        batch, so every update sees ``batch_size`` clips.
        """
        from torch.utils.data import DataLoader

        if not self.weights:
            raise ValueError("batches() feeds a weighted training loop: build MixedClips with weights=True")

        def epoch_batches(epoch: int):
            self.set_epoch(epoch)
            return DataLoader(self, batch_size=batch_size, drop_last=len(self) > batch_size, num_workers=num_workers)

        return epoch_batches

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
            weight = 1.0
            if source == 0:
                video, label = self.real[i]
            else:
                video, label = self.synthetic[source - 1][i]
                label = self._label_maps[source - 1][label]
                if self._synthetic_weights is not None:
                    weight = float(self._synthetic_weights[source - 1][i])
            if self.transform is not None:
                video, label = self.transform(video, label, np.random.default_rng([self.seed, 2, self.epoch, at]))
            yield (video, label, weight) if self.weights else (video, label)
