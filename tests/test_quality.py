"""Quality metrics on synthetic features and clips with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.quality import (
    accuracy,
    frechet_distance,
    mean_pairwise_distance,
    near_duplicates,
    nearest_neighbour,
    pixel_embedding,
)


def _gaussian(n: int, mean: np.ndarray, cov: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = _gaussian(200, np.zeros(8), np.eye(8), 0)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_shifted_means_is_the_squared_shift():
    # Same covariance, so only ||mu1 - mu2||^2 remains; exact when y is x shifted.
    x = _gaussian(300, np.zeros(6), np.diag([1.0, 2, 3, 4, 5, 6]), 1)
    shift = np.array([1.0, -2.0, 0.5, 0, 0, 3.0])
    assert frechet_distance(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-9)


def test_frechet_distance_matches_the_closed_form_for_diagonal_covariances():
    # For diagonal covariances: sum (sqrt(a_i) - sqrt(b_i))^2 plus the squared mean shift.
    x = _gaussian(20000, np.zeros(3), np.diag([1.0, 4.0, 9.0]), 2)
    y = _gaussian(20000, np.ones(3), np.diag([4.0, 4.0, 1.0]), 3)
    expected = 3.0 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert frechet_distance(x, y) == pytest.approx(expected, rel=0.05)


def test_frechet_distance_is_finite_and_non_negative_for_rank_deficient_sets():
    # Fewer samples than dimensions: singular covariances, where a naive sqrtm goes complex.
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(12, 64)) + 0.1
    fd = frechet_distance(x, y)
    assert np.isfinite(fd) and fd >= 0
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-6)


def test_frechet_distance_refuses_mismatched_sets():
    with pytest.raises(ValueError, match="one width"):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="two samples"):
        frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))


def test_accuracy_overall_and_per_class():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 0])
    overall, per_class = accuracy(predicted, labels, 4)
    assert overall == pytest.approx(3 / 6)
    assert per_class[:3] == [0.5, pytest.approx(2 / 3), 0.0]
    assert np.isnan(per_class[3])


def test_mean_pairwise_distance_per_class():
    # Class 0: three points on a line at 0, 3, 4 -> pair distances 3, 4, 1 -> mean 8/3.
    features = np.array([[0.0], [3.0], [4.0], [7.0], [7.0]])
    labels = np.array([0, 0, 0, 1, 1])
    div = mean_pairwise_distance(features, labels, 3)
    assert div[0] == pytest.approx(8 / 3)
    assert div[1] == 0.0  # a collapsed class
    assert np.isnan(div[2])


def test_nearest_neighbour_and_self_exclusion():
    ref = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 5.0]])
    dist, idx = nearest_neighbour(np.array([[9.0, 0.0], [0.0, 4.0]]), ref)
    assert dist.tolist() == pytest.approx([1.0, 1.0]) and idx.tolist() == [1, 2]
    dist, idx = nearest_neighbour(ref, ref, exclude_self=True)
    assert dist.tolist() == pytest.approx([5.0, 10.0, 5.0]) and idx.tolist() == [2, 0, 0]


def test_near_duplicates_flags_both_members_of_a_close_pair():
    emb = np.array([[0.0], [0.001], [1.0], [2.0]])
    assert near_duplicates(emb, 0.01).tolist() == [True, True, False, False]
    assert near_duplicates(emb[:1], 0.01).tolist() == [False]


def test_pixel_embedding_distance_is_the_rms_difference_of_downsampled_clips():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 200, (2, 4, 32, 32, 3), dtype=np.uint8)
    b = a + np.uint8(51)  # every pixel brighter by 51/255 = 0.2
    emb_a, emb_b = pixel_embedding(a), pixel_embedding(b)
    assert emb_a.shape == (2, 4 * 16 * 16 * 3)
    assert np.linalg.norm(emb_a - emb_b, axis=1) == pytest.approx([0.2, 0.2], rel=1e-4)
    # Downsampling averages 2x2 blocks, so pixel-level noise that cancels within a block vanishes.
    checker = np.zeros((1, 2, 32, 32, 3), np.uint8)
    checker[:, :, ::2, ::2] = checker[:, :, 1::2, 1::2] = 200
    flat = np.full_like(checker, 100)
    assert np.linalg.norm(pixel_embedding(checker) - pixel_embedding(flat)) == pytest.approx(0.0, abs=1e-6)
