"""Box overlap and the optimal one-to-one assignment of tracks to detections."""

from __future__ import annotations

import numpy as np

from edgeyolo.runtime.errors import require


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` [N, 4] with every box in ``b`` [M, 4] (xyxy) → [N, M] float64."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def assign(similarity: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the assignment maximising total ``similarity``, keeping pairs ≥ ``threshold``.

    Returns two int arrays of equal length, rows ascending (scipy's Jonker-Volgenant solver).
    """
    rows, cols = similarity.shape
    if not rows or not cols:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    optimize = require("scipy.optimize", "track", "tracking")
    r, c = optimize.linear_sum_assignment(similarity, maximize=True)
    keep = similarity[r, c] >= threshold
    return r[keep].astype(np.int64), c[keep].astype(np.int64)
