"""Box decoding of YOLOv3/YOLOv4-style anchor heads (design document 001's `YoloBody`):
x = (sigmoid(tx) + gx) * stride, w = exp(tw) * anchor_w (y, h alike), in input pixels."""

from __future__ import annotations

import functools

import numpy as np

YOLOV3_HEAD = "yolov3-anchor"


def yolov3_boxes(
    t: np.ndarray,
    cells: np.ndarray,
    geometry: tuple[tuple[int, ...], tuple[tuple[float, ...], ...], tuple[tuple[int, int], ...]],
) -> np.ndarray:
    """xyxy [K, 4] from the raw (tx, ty, tw, th) logits [K, 4] of cells (rows of the per-image cell order:
    level, anchor, y, x) of a model with `geometry` = (strides, anchors per level, (H, W) per level)."""
    origin, stride, anchor = _cells(*geometry).take(cells, axis=1)  # each [K, 2]
    t = t.astype(np.float32, copy=False)
    with np.errstate(over="ignore"):
        centre = (1.0 / (1.0 + np.exp(-t[:, :2])) + origin) * stride
        half = np.exp(t[:, 2:4]) * anchor * 0.5
    return np.concatenate((centre - half, centre + half), axis=1)


@functools.lru_cache(maxsize=16)
def _cells(
    strides: tuple[int, ...], anchors: tuple[tuple[float, ...], ...], shapes: tuple[tuple[int, int], ...]
) -> np.ndarray:
    """float32 [3, cells, 2]: each cell's (gx, gy), its stride, and its anchor (w, h); read-only."""
    parts = []
    for stride, level_anchors, (h, w) in zip(strides, anchors, shapes, strict=True):
        na = len(level_anchors) // 2
        gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
        table = np.empty((3, na, h, w, 2), dtype=np.float32)
        table[0, ..., 0], table[0, ..., 1] = gx, gy
        table[1] = stride
        table[2] = np.asarray(level_anchors, dtype=np.float32).reshape(na, 1, 1, 2)
        parts.append(table.reshape(3, -1, 2))
    cells = np.concatenate(parts, axis=1)
    cells.flags.writeable = False
    return cells
