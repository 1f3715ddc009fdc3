"""From a generator's foreground mask to per-frame boxes: what detection and tracking labels are made of."""

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
