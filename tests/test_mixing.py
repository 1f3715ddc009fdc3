"""The mixing dataset for downstream training: ratios, label matching, determinism, sharding, augmentation."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pipelines import ClipTransform, ClipDataset, MixedClips, prepare_procedural, read_index
from schemas.config import BeamConfig, ClipFormat, ProceduralSource

CLIP = ClipFormat(frames=8, size=32, fps=8)


def _render(root, classes, clips_per_class, seed):
    source = ProceduralSource(classes=classes, clips_per_class=clips_per_class, test_fraction=0.25, seed=seed)
    return prepare_procedural(source, CLIP, root, BeamConfig()).parent


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """2 classes x 8 clips: 6 train and 2 test per class."""
    return _render(tmp_path_factory.mktemp("real"), ["walk_left", "jump"], 8, seed=1)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A second version with the same classes in the other label order (jump is label 0 here), 5 per class."""
    return _render(tmp_path_factory.mktemp("synthetic"), ["jump", "walk_left"], 5, seed=2)


def _digest(video: torch.Tensor) -> str:
    return hashlib.sha256(video.numpy().tobytes()).hexdigest()


def test_an_epoch_holds_every_real_clip_once_and_the_asked_synthetic_share(real, synthetic):
    mixed = MixedClips(real, [synthetic], synthetic_fraction=0.25)
    items = mixed.epoch_items(0)
    sources = Counter(source for source, _ in items)
    assert sources == {0: 12, 1: 4}  # 12 real train clips; 12 * 0.25 / 0.75 = 4 synthetic
    assert sorted(i for s, i in items if s == 0) == list(range(12))
    assert len(mixed) == 16
    assert Counter(s for s, _ in MixedClips(real, [synthetic], synthetic_fraction=1.0).epoch_items(0)) == {1: 10}
    assert Counter(s for s, _ in MixedClips(real).epoch_items(0)) == {0: 12}


def test_synthetic_clips_are_all_used_before_any_repeats(real, synthetic):
    mixed = MixedClips(real, [synthetic], synthetic_fraction=0.3)  # round(12 * 0.3 / 0.7) = 5 of the 10 per epoch
    drawn = [i for epoch in range(4) for s, i in mixed.epoch_items(epoch) if s == 1]
    assert len(drawn) == 20
    assert sorted(drawn[:10]) == list(range(10)) and sorted(drawn[10:]) == list(range(10))


def test_synthetic_labels_follow_the_real_class_names(real, synthetic):
    mixed = MixedClips(real, [synthetic], synthetic_fraction=1.0)
    index = read_index(synthetic / "index.parquet")
    name_of = dict(zip(index["key"].to_pylist(), index["label_name"].to_pylist()))
    rows = ClipDataset(synthetic).rows
    for (_, label), (_, i) in zip(mixed, mixed.epoch_items(0), strict=True):
        assert mixed.class_names[label] == name_of[rows[i]["key"]]
        assert label != rows[i]["label"]  # the two versions number the classes the other way round


def test_a_synthetic_class_the_real_data_lacks_is_refused(real, tmp_path):
    other = _render(tmp_path / "other", ["walk_left", "fall"], 4, seed=3)
    with pytest.raises(ValueError, match=r"classes \['fall'\].*lacks"):
        MixedClips(real, [other], synthetic_fraction=0.5)
    with pytest.raises(ValueError, match="no synthetic clips"):
        MixedClips(real, [], synthetic_fraction=0.5)
    with pytest.raises(ValueError, match="synthetic_fraction"):
        MixedClips(real, [real], synthetic_fraction=1.5)


def test_an_epoch_is_reproducible_and_the_next_one_differs(real, synthetic):
    def epoch(e):
        mixed = MixedClips(real, [synthetic], 0.5, transform=ClipTransform(), seed=7)
        mixed.set_epoch(e)
        return [(_digest(v), y) for v, y in mixed]

    assert epoch(0) == epoch(0)
    assert epoch(0) != epoch(1)


def test_workers_and_ranks_split_an_epoch_without_overlap(real, synthetic):
    mixed = MixedClips(real, [synthetic], 0.5, seed=3)
    whole = Counter(_digest(v) for v, _ in mixed)
    with_workers = Counter(_digest(v) for v, _ in DataLoader(mixed, batch_size=None, num_workers=2))
    assert with_workers == whole
    ranks = [MixedClips(real, [synthetic], 0.5, seed=3, rank=r, world_size=2) for r in range(2)]
    assert [len(r) for r in ranks] == [12, 12]
    assert sum((Counter(_digest(v) for v, _ in r) for r in ranks), Counter()) == whole
    # 24 clips over 5 ranks: 4 each, the last 4 of the epoch left out, so no rank waits for another
    five = [MixedClips(real, [synthetic], 0.5, seed=3, rank=r, world_size=5) for r in range(5)]
    seen = [Counter(_digest(v) for v, _ in r) for r in five]
    assert [len(r) for r in five] == [sum(c.values()) for c in seen] == [4] * 5
    assert sum(seen, Counter()) <= whole


def test_transform_keeps_shape_is_seeded_and_mirrors_labels():
    video = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    transform = ClipTransform(hflip=1.0, mirror={0: 1, 1: 0})
    a, label = transform(video, 0, np.random.default_rng(5))
    b, _ = transform(video, 0, np.random.default_rng(5))
    assert a.shape == video.shape and a.dtype == torch.uint8 and label == 1
    assert torch.equal(a, b)
    assert transform(video, 2, np.random.default_rng(5))[1] == 2  # a class not in the mirror keeps its label
    plain, _ = ClipTransform(crop_scale=(1, 1), brightness=0, contrast=0)(video, 0, np.random.default_rng(0))
    assert torch.equal(plain, video)
    with pytest.raises(ValueError, match="crop_scale"):
        ClipTransform(crop_scale=(0, 1))


def test_first_per_class_is_a_nested_k_shot_view(real):
    train = ClipDataset(real, split="train")
    three, five = train.first_per_class(3), train.first_per_class(5)
    assert Counter(three.labels) == {0: 3, 1: 3}
    assert {r["key"] for r in three.rows} <= {r["key"] for r in five.rows}
    with pytest.raises(ValueError, match="fewer than 7"):
        train.first_per_class(7)


def test_subset_is_a_view_that_mixes_like_the_whole(real):
    train = ClipDataset(real, split="train")
    picked = train.subset([3, 0])
    assert [r["key"] for r in picked.rows] == [train.rows[3]["key"], train.rows[0]["key"]]
    assert torch.equal(picked[1][0], train[0][0]) and len(train) > 2  # the parent is untouched
    mixed = MixedClips(train, [picked], synthetic_fraction=0.25, seed=0)
    assert sum(1 for _ in mixed) == len(mixed)
