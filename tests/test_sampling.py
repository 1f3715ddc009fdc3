"""Sampling determinism and batch independence, seed derivation, per-clip metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evaluation.clip_stats import flicker, motion
from generators.networks import VideoGenerator
from generators.sampling import CHUNK, latents, sample
from schemas.labels import boxes_from_mask

NUM_CLASSES = 3


@pytest.fixture(scope="module")
def G() -> VideoGenerator:
    torch.manual_seed(0)
    G = VideoGenerator(NUM_CLASSES, 16, 8, 8, 32)
    with torch.no_grad():  # move the class-conditional norms off their neutral start
        for name, p in G.named_parameters():
            if ".gain." in name or ".bias." in name:
                p.normal_(0, 0.3)
    return G.eval()


def test_shapes_and_types(G: VideoGenerator) -> None:
    batch = sample(G, [0, 1, 2], [1, 2, 3])
    assert batch.videos.shape == (3, 8, 32, 32, 3) and batch.videos.dtype == np.uint8
    assert batch.masks.shape == (3, 8, 32, 32) and batch.masks.dtype == np.float32
    assert batch.masks.min() >= 0 and batch.masks.max() <= 1
    empty = sample(G, [], [])
    assert empty.videos.shape == (0, 8, 32, 32, 3) and empty.masks.shape == (0, 8, 32, 32)


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_deterministic(G: VideoGenerator, precision: str) -> None:
    a = sample(G, [0, 1, 2, 0], [7, 8, 9, 10], precision=precision)
    b = sample(G, [0, 1, 2, 0], [7, 8, 9, 10], precision=precision)
    np.testing.assert_array_equal(a.videos, b.videos)
    np.testing.assert_array_equal(a.masks, b.masks)


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_a_clip_does_not_depend_on_its_batch(G: VideoGenerator, precision: str) -> None:
    """Bitwise: alone, inside a larger batch at another position, and across chunk boundaries."""
    alone = sample(G, [2], [42], precision=precision)
    labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 1, 2]  # more than one chunk
    seeds = [100 + i for i in range(len(labels))]
    for position in (0, 5, CHUNK + 1):
        lab, sd = list(labels), list(seeds)
        lab[position], sd[position] = 2, 42
        batch = sample(G, lab, sd, precision=precision)
        np.testing.assert_array_equal(batch.videos[position], alone.videos[0])
        np.testing.assert_array_equal(batch.masks[position], alone.masks[0])


def test_seed_label_and_truncation_matter(G: VideoGenerator) -> None:
    base = sample(G, [0], [1]).videos[0]
    assert not np.array_equal(base, sample(G, [0], [2]).videos[0])
    assert not np.array_equal(base, sample(G, [1], [1]).videos[0])
    assert not np.array_equal(base, sample(G, [0], [1], truncation=0.5).videos[0])


def test_truncation_scales_the_latent() -> None:
    torch.testing.assert_close(latents([3, 4], 16, 0.5), 0.5 * latents([3, 4], 16))
    # a latent is a function of its own seed only
    torch.testing.assert_close(latents([4], 16)[0], latents([3, 4], 16)[1], rtol=0, atol=0)
    with pytest.raises(ValueError):
        latents([1], 16, 0.0)


def test_bad_requests_are_rejected(G: VideoGenerator) -> None:
    with pytest.raises(ValueError, match="labels"):
        sample(G, [0, 1], [1])
    with pytest.raises(ValueError, match="outside"):
        sample(G, [NUM_CLASSES], [1])
    with pytest.raises(ValueError, match="precision"):
        sample(G, [0], [1], precision="fp16")


def _moving_square(frames: int = 8, size: int = 32) -> np.ndarray:
    v = np.zeros((frames, size, size, 3), np.uint8)
    for t in range(frames):
        v[t, 10:18, 2 + 2 * t : 10 + 2 * t] = 255
    return v


def test_flicker() -> None:
    frozen = np.full((8, 16, 16, 3), 77, np.uint8)
    assert flicker(frozen) == 0.0
    blink = np.zeros((8, 16, 16, 3), np.uint8)
    blink[1::2] = 255
    assert flicker(blink) == pytest.approx(1.0)
    assert 0 < flicker(_moving_square()) < 0.1


def test_motion() -> None:
    frozen = np.full((8, 16, 16, 3), 77, np.uint8)
    assert motion(frozen) == 0.0
    # low-amplitude noise flickers but does not move
    rng = np.random.default_rng(0)
    noisy = (frozen.astype(np.int16) + rng.integers(-8, 9, frozen.shape)).astype(np.uint8)
    assert flicker(noisy) > 0 and motion(noisy) == 0.0
    # the square moves 2 px a frame: 2 columns appear and 2 vanish over 8 rows, each pair
    assert motion(_moving_square()) == pytest.approx(2 * 2 * 8 / 32**2)
    with pytest.raises(ValueError):
        motion(np.zeros((8, 16, 16, 3), np.float32))


def test_boxes_from_mask() -> None:
    mask = np.zeros((3, 20, 30), np.float32)
    mask[0, 5:9, 3:4] = 0.9  # rows 5..8, column 3
    mask[2, 0:20, 10:30] = 0.6
    mask[1, 4, 4] = 0.5  # not above the threshold
    boxes = boxes_from_mask(mask)
    assert boxes.shape == (3, 4) and boxes.dtype == np.float32
    np.testing.assert_array_equal(boxes[0], [3, 5, 4, 9])
    assert np.isnan(boxes[1]).all()
    np.testing.assert_array_equal(boxes[2], [10, 0, 30, 20])
    np.testing.assert_array_equal(boxes_from_mask(mask, threshold=0.4)[1], [4, 4, 5, 5])


def test_boxes_follow_a_sampled_mask(G: VideoGenerator) -> None:
    batch = sample(G, [0], [5])
    boxes = boxes_from_mask(batch.masks[0])
    assert boxes.shape == (8, 4)
    ok = ~np.isnan(boxes[:, 0])
    assert (boxes[ok, 0] < boxes[ok, 2]).all() and (boxes[ok, 1] < boxes[ok, 3]).all()
    assert (boxes[ok] >= 0).all() and (boxes[ok] <= 32).all()
