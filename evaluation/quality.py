"""Dataset-level quality metrics on features and pixels (torch/numpy, no I/O).

Each function takes arrays already computed (judge or I3D features, class
predictions, downsampled pixels) so that the same code measures a synthetic
set, the real held-out clips (the "perfect generator" reference) and the
deliberately broken sets of the tests. Distances are computed in float64.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "PIXEL_SIZE",
    "accuracy",
    "frechet_distance",
    "mean_pairwise_distance",
    "near_duplicates",
    "nearest_neighbour",
    "pixel_embedding",
]

PIXEL_SIZE = 16
"""Frames are area-averaged to this size before pixel distances (per-pixel noise and codec shimmer average out)."""

_CHUNK = 1024  # rows of a distance matrix computed at once


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``x`` (N, D) and ``y`` (M, D).

    ``||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^(1/2))``: the closed form of
    the 2-Wasserstein distance between two Gaussians (Dowson & Landau 1982), as
    used by FID (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update
    Rule Converge to a Local Nash Equilibrium") and FVD (Unterthiner et al.
    2018, "Towards Accurate Generative Models of Video: A New Metric &
    Challenges"). Note the square: FID/FVD report the squared distance.

    The trace of the matrix square root is taken as ``sum(sqrt(eig(A)))`` with
    ``A = S_x^(1/2) S_y S_x^(1/2)``, which is symmetric positive semi-definite
    and has the eigenvalues of ``S_x S_y``; working with symmetric
    eigendecompositions in float64 (negative round-off clipped to 0) never
    yields the complex parts that a general ``sqrtm`` of ``S_x S_y`` can,
    and it is exact for the singular covariances of small sample sets.
    Covariances are unbiased (``N - 1``); both sets need at least two rows.
    The figure is biased upwards for small sample sets, so compare it only
    between sets of similar size, and record the counts beside it.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need two (N, D) feature sets of one width, got {x.shape} and {y.shape}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"need at least two samples per set, got {len(x)} and {len(y)}")
    mu_x, mu_y = x.mean(0), y.mean(0)
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    s_x, s_y = np.atleast_2d(s_x), np.atleast_2d(s_y)
    root_x = _sqrt_psd(s_x)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_x @ s_y @ root_x), 0, None)).sum()
    return float(((mu_x - mu_y) ** 2).sum() + np.trace(s_x) + np.trace(s_y) - 2 * cross)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix by eigendecomposition."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def accuracy(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[float, list[float]]:
    """Share of ``predicted == labels``, overall and per class of ``labels`` (NaN for a class without clips).

    Against the intended labels of synthetic clips this is label fidelity: a
    classifier trained on real data judges whether each sample shows its
    class, as AC-GAN (Odena et al. 2017, "Conditional Image Synthesis with
    Auxiliary Classifier GANs") scored class-conditional samples by the
    accuracy of a pretrained Inception network.
    """
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    hit = predicted == labels
    per_class = [float(hit[labels == c].mean()) if (labels == c).any() else float("nan") for c in range(num_classes)]
    return float(hit.mean()), per_class


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def mean_pairwise_distance(features: np.ndarray, labels: np.ndarray, num_classes: int) -> list[float]:
    """Per class, the mean Euclidean distance between distinct pairs of its clips' features (NaN below two clips).

    The within-class diversity score of BicycleGAN (Zhu et al. 2017, "Toward
    Multimodal Image-to-Image Translation": mean pairwise LPIPS distance of
    samples for one input), measured here in the judge's feature space. A
    mode-collapsed class scores near 0; compare with the real clips' score.
    """
    f = torch.as_tensor(np.asarray(features, np.float64))
    labels = np.asarray(labels)
    out = []
    for c in range(num_classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            out.append(float("nan"))
            continue
        d = _distances(f[idx], f[idx])
        out.append(float(d.sum() / (len(idx) * (len(idx) - 1))))
    return out


def nearest_neighbour(query: np.ndarray, reference: np.ndarray, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each row of ``query`` to its nearest row of ``reference``, and that row's index.

    With ``exclude_self`` (``query`` and ``reference`` the same set) a row is
    not its own neighbour. Nearest-neighbour distance to the training set is
    the standard memorisation check for generative models (e.g. the
    nearest-neighbour figures of Brock et al. 2019, BigGAN; Webster et al.
    2019, "Detecting Overfitting of Deep Generative Networks via Latent
    Recovery", on why a small distance means a copy).
    """
    q = torch.as_tensor(np.asarray(query, np.float64))
    r = torch.as_tensor(np.asarray(reference, np.float64))
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1]:
        raise ValueError(f"need (N, D) and (M, D) of one width, got {tuple(q.shape)} and {tuple(r.shape)}")
    if len(r) < (2 if exclude_self else 1):
        raise ValueError("reference set too small for a nearest neighbour")
    dists, idxs = [], []
    for start in range(0, len(q), _CHUNK):
        d = _distances(q[start : start + _CHUNK], r)
        if exclude_self:
            rows = torch.arange(d.shape[0])
            d[rows, rows + start] = float("inf")
        best = d.min(dim=1)
        dists.append(best.values)
        idxs.append(best.indices)
    return torch.cat(dists).numpy(), torch.cat(idxs).numpy()


def near_duplicates(embedding: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean mask of the rows that have another row within ``threshold`` (Euclidean).

    The nearest-neighbour test of :func:`nearest_neighbour` applied within one
    set: it catches a generator that repeats clips (the extreme of mode
    collapse, Goodfellow 2016, "NIPS 2016 Tutorial: Generative Adversarial
    Networks", section 5.1.1), including repeats that differ by a little noise.
    """
    if len(embedding) < 2:
        return np.zeros(len(embedding), dtype=bool)
    dist, _ = nearest_neighbour(embedding, embedding, exclude_self=True)
    return dist < threshold


def pixel_embedding(videos: np.ndarray, size: int = PIXEL_SIZE) -> np.ndarray:
    """uint8 clips (N, T, H, W, 3) -> float32 (N, T * size * size * 3) whose Euclidean distance is the RMS pixel difference.

    Frames are area-averaged to ``size`` x ``size`` (unchanged when smaller),
    values scaled to 0..1, and the vector divided by the square root of its
    length, so that a distance of 0.02 means the downsampled clips differ by
    2 % of the grey range on average (root mean square).
    """
    v = torch.as_tensor(np.asarray(videos))
    if v.dtype != torch.uint8 or v.ndim != 5 or v.shape[-1] != 3:
        raise ValueError(f"expected uint8 clips (N, T, H, W, 3), got {v.dtype} {tuple(v.shape)}")
    n, t, h, w, _ = v.shape
    frames = v.permute(0, 1, 4, 2, 3).reshape(n * t, 3, h, w).float() / 255.0
    if h > size or w > size:
        frames = F.adaptive_avg_pool2d(frames, (min(h, size), min(w, size)))
    flat = frames.reshape(n, -1)
    return (flat / flat.shape[1] ** 0.5).numpy().astype(np.float32)


def mean_brightness(embedding: np.ndarray) -> np.ndarray:
    """Mean grey level (0..1) of each clip, from its :func:`pixel_embedding` (area averaging keeps the mean)."""
    return embedding.sum(axis=1) / np.sqrt(embedding.shape[1])


def brightness_range(embedding: np.ndarray) -> tuple[float, float] | None:
    """Lowest and highest :func:`mean_brightness` of a set of pixel embeddings; None for an empty set."""
    if not len(embedding):
        return None
    levels = mean_brightness(embedding)
    return float(levels.min()), float(levels.max())


def exposure_outliers(span: tuple[float, float] | None, clips: np.ndarray) -> float | None:
    """Share of ``clips`` (pixel embeddings) darker or brighter than ``span`` (:func:`brightness_range`).

    None when there is no span or no clip. The gate's ``exposure_outlier_fraction``.
    """
    if span is None or not len(clips):
        return None
    level = mean_brightness(clips)
    return float(np.mean((level < span[0]) | (level > span[1])))
