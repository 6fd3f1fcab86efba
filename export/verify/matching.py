"""The one detection matcher: greedy pairing of reference detections with candidates, best first."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# cost(ref_row_index) -> cost of pairing that reference detection with each candidate (lower is better;
# inf forbids the pair).
Cost = Callable[[int], np.ndarray]


def greedy_match(
    order: np.ndarray, n_candidates: int, cost: Cost, limit: float
) -> list[tuple[int, int, float]]:
    """Pair each reference index in `order` with the cheapest unused candidate whose cost is <= `limit`.
    Returns (reference index, candidate index, cost) for every pair made."""
    used = np.zeros(n_candidates, dtype=bool)
    pairs = []
    for i in order:
        if not n_candidates:
            break
        c = np.where(used, np.inf, cost(int(i)))
        j = int(np.argmin(c))
        if np.isfinite(c[j]) and c[j] <= limit:
            used[j] = True
            pairs.append((int(i), j, float(c[j])))
    return pairs


def detection_pairs(
    mine: np.ndarray, ref: np.ndarray, score_weight: float = 1.0, scale: float = 1.0, limit: float = np.inf
):
    """Pairs of [K, 6] detections (x1, y1, x2, y2, score, class) of the same class by the largest
    coordinate difference (divided by `scale`) or score difference (times `score_weight`)."""

    def cost(i: int) -> np.ndarray:
        row = ref[i]
        c = np.maximum(
            np.abs(mine[:, :4] - row[:4]).max(1) / scale, score_weight * np.abs(mine[:, 4] - row[4])
        )
        return np.where(mine[:, 5] == row[5], c, np.inf)

    return greedy_match(np.arange(len(ref)), len(mine), cost, limit)


def worst_difference(mine: np.ndarray, ref: np.ndarray) -> float | None:
    """The worst coordinate/score difference when `mine` and `ref` pair up one to one by class, else None."""
    if len(mine) != len(ref):
        return None
    pairs = detection_pairs(mine, ref)
    if len(pairs) != len(ref):
        return None
    return max((c for _, _, c in pairs), default=0.0)


def match_fraction(mine: np.ndarray, ref: np.ndarray, tol: float) -> float:
    """Share of `ref` detections that `mine` reproduces (same class, score and coordinates within `tol` of
    the box scale, each of `mine` used once), over the larger count. 1.0 when both are empty."""
    if len(ref) == 0:
        return 1.0 if len(mine) == 0 else 0.0
    scale = max(1.0, float(np.abs(ref[:, :4]).max()))
    hits = len(detection_pairs(mine, ref, scale=scale, limit=tol))
    return hits / max(len(ref), len(mine))


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).prod(1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def same_object_pairs(boxes_a, conf_a, cls_a, boxes_b, cls_b, iou_min: float) -> list[tuple[int, int, float]]:
    """Each detection of A (by descending confidence) paired with the unused same-class detection of B it
    overlaps most, if that IoU is at least `iou_min`."""
    if not len(boxes_a) or not len(boxes_b):
        return []
    iou = iou_matrix(boxes_a, boxes_b)
    iou[cls_a[:, None] != cls_b[None]] = 0
    return greedy_match(np.argsort(-conf_a), len(boxes_b), lambda i: 1.0 - iou[i], 1.0 - iou_min)
