"""The index's mask-derived labels: per-frame boxes, an actor's visibility and its event span (numpy only).

These are the definitions behind the ``boxes`` column and the actor rows of
:mod:`schemas.index`. They live beside the schema, not in ``generators/``,
because both sides that fill those columns use them: the procedural renderer
(``pipelines/sources/procedural.py``, which may not import ``generators``) and
generation and compositing (``generators/``).
"""

from __future__ import annotations

import numpy as np


def boxes_from_mask(mask: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Per-frame bounding boxes of the foreground mask: float32 (T, 4) as ``x0, y0, x1, y1``.

    Pixels with ``mask > threshold`` are foreground. Coordinates are in pixels
    with exclusive right/bottom edges (a single pixel at column 3, row 5 gives
    ``3, 5, 4, 6``), so ``x1 - x0`` is the box width. Frames without
    foreground get a row of NaN.
    """
    m = np.asarray(mask)
    if m.ndim != 3:
        raise ValueError(f"expected a mask (T, H, W), got shape {m.shape}")
    fg = m > threshold
    boxes = np.full((m.shape[0], 4), np.nan, dtype=np.float32)
    cols, rows = fg.any(axis=1), fg.any(axis=2)  # (T, W), (T, H)
    for t in np.flatnonzero(cols.any(axis=1)):
        xs, ys = np.flatnonzero(cols[t]), np.flatnonzero(rows[t])
        boxes[t] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return boxes


def event_span(masks: np.ndarray, min_change: float = 0.02) -> tuple[int | None, int | None]:
    """First and last frame (inclusive) in which an actor moves, from its binary masks (T, H, W).

    The actor moves between frames ``t`` and ``t + 1`` when more than ``min_change`` of
    its pixels (the larger of the two frames' counts) change between them; the span runs
    from the first such ``t`` to the last such ``t + 1``. ``(None, None)`` when it never moves.
    Masks must be in the actor's own coordinates (not clipped by the frame), so walking
    out of the picture still counts as moving.
    """
    m = np.asarray(masks, dtype=bool)
    if m.ndim != 3:
        raise ValueError(f"expected masks (T, H, W), got shape {m.shape}")
    if len(m) < 2:
        return None, None
    changed = (m[1:] ^ m[:-1]).sum(axis=(1, 2))
    area = np.maximum(m[1:].sum(axis=(1, 2)), m[:-1].sum(axis=(1, 2)))
    moving = np.flatnonzero(changed > min_change * np.maximum(area, 1))
    if not len(moving):
        return None, None
    return int(moving[0]), int(moving[-1] + 1)


def visibility(own: np.ndarray, area: np.ndarray, front: np.ndarray | None) -> np.ndarray:
    """Per-frame share (T,) of an actor's pixels that are in the frame and not covered by actors in front.

    ``own`` (T, H, W) are its pixels inside the frame, ``area`` (T,) its pixel count
    before the frame cut it, ``front`` (T, H, W) the pixels of actors drawn in front
    of it (or None). A frame where the actor has no pixels at all has visibility 0.
    """
    own = np.asarray(own, dtype=bool)
    seen = own if front is None else own & ~np.asarray(front, dtype=bool)
    area = np.asarray(area, dtype=np.float64)
    return np.where(area > 0, seen.sum(axis=(1, 2)) / np.maximum(area, 1), 0.0).astype(np.float32)
