"""Greedy non-maximum suppression in vectorised numpy.

Definition (what the tests check against a plain loop): candidates are visited in descending score
order (ties: lower index first); a candidate is kept unless its IoU with an already kept box is
strictly greater than ``iou_threshold``. IoU is ``inter / union`` with areas of inverted boxes taken
as 0, and 0 when the union is 0 (two zero-area boxes). Rows whose box or score is not finite are
dropped before NMS. At most ``max_det`` indices are returned.

How: only pairs of boxes whose x-ranges overlap can have IoU > 0 (thresholds are >= 0); they are
enumerated from a sort on x1, their IoU computed in one vectorised pass, and the greedy order resolved
over the resulting 'may suppress' edges. Class-aware NMS shifts each class to its own x-range.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["nms"]

# Candidates are processed in score order, in blocks of this many (plus the boxes kept so far), which
# bounds the memory of the overlapping-pair lists; with max_det <= ~1000 one block is usually enough.
_BLOCK = 1024
# Vectorised rounds of suppression before falling back to a sequential pass (see `_resolve`).
_ROUNDS = 4


def _validate(
    boxes_xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    boxes = np.asarray(boxes_xyxy)
    scores = np.asarray(scores)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes_xyxy must have shape [N, 4] (x1, y1, x2, y2), got {boxes.shape}")
    if scores.ndim != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"scores must have shape [N] = [{boxes.shape[0]}], got {scores.shape}")
    for name, arr in (("boxes_xyxy", boxes), ("scores", scores)):
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if class_ids is None:
        return boxes, scores, None
    classes = np.asarray(class_ids)
    if classes.ndim != 1 or classes.shape[0] != boxes.shape[0]:
        raise ValueError(f"class_ids must have shape [N] = [{boxes.shape[0]}], got {classes.shape}")
    if classes.dtype.kind not in "iu":
        if classes.size and (classes.dtype.kind != "f" or not np.all(np.mod(classes, 1) == 0)):
            raise TypeError(f"class_ids must be integers, got dtype {classes.dtype}")
        classes = classes.astype(np.int64)
    return boxes, scores, classes


def _class_offsets(cols: np.ndarray, classes: np.ndarray) -> np.ndarray | None:
    """Per-box x offsets that move each class into its own coordinate range, so boxes of different
    classes never overlap: (class_id - min class_id) * (coordinate span + 1), float64.

    ``cols`` is [4, N] (x1, y1, x2, y2 rows). Returns None when the shifted coordinates would not be
    exact enough (astronomically large boxes or class ids); the caller then compares class ids.
    """
    lo, hi = float(cols.min()), float(cols.max())
    step = (hi - lo) + 1.0
    cmin = int(classes.min())
    top = max(abs(lo), abs(hi)) + step * float(int(classes.max()) - cmin)
    if not math.isfinite(top) or top >= 2.0**50:
        return None
    return (classes - cmin).astype(np.float64) * step


def _overlap_pairs(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (p, q), p != q, of boxes whose x-ranges overlap with positive length (a superset).

    Found by sorting on x1: the partners of a box are the boxes after it whose x1 is below its x2.
    """
    xo = np.argsort(x1, kind="stable")
    ends = np.searchsorted(x1.take(xo), x2.take(xo), side="left")
    first = np.arange(1, xo.size + 1)
    counts = np.maximum(ends - first, 0)
    csum = np.cumsum(counts)
    total = int(csum[-1])
    if total == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    owners = np.repeat(np.arange(xo.size), counts)
    # the k-th pair of an owner o is o's partner first[o] + k; k = pair index - (csum - counts)[o]
    partners = np.arange(total) + np.repeat(first - csum + counts, counts)
    return xo.take(owners), xo.take(partners)


def _suppressed(cols: np.ndarray, thr: float, classes: np.ndarray | None) -> np.ndarray:
    """Greedy NMS over boxes sorted by descending score; returns the boolean 'suppressed' mask.

    ``cols`` is [5, N]: x1, y1, x2, y2, area rows (float64, contiguous).
    """
    n = cols.shape[1]
    p, q = _overlap_pairs(cols[0], cols[2])
    if p.size:
        a, b = cols.take(p, axis=1), cols.take(q, axis=1)  # [5, P] each
        wh = np.minimum(a[2:4], b[2:4])
        wh -= np.maximum(a[:2], b[:2])
        np.maximum(wh, 0.0, out=wh)
        inter = wh[0] * wh[1]
        # union >= inter >= 0; 0/0 (two zero-area boxes) gives NaN, which is never > thr (thr >= 0).
        hit = inter / (a[4] + b[4] - inter) > thr
        if classes is not None:
            hit &= classes.take(p) == classes.take(q)
        p, q = p[hit], q[hit]
    if p.size == 0:
        return np.zeros(n, dtype=bool)
    # Edge from the higher-scored box (lower position) to the one it may suppress.
    return _resolve(n, np.minimum(p, q), np.maximum(p, q))


def _resolve(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Greedy outcome of 'src suppresses dst' edges (src < dst, visit order = position).

    Vectorised rounds settle what they can (a box with no live incoming edge is kept; a box with an
    edge from a kept box is suppressed; edges from or to decided boxes are dropped), which in practice
    is everything; long chains left over are finished by a sequential pass in position order.
    """
    status = np.zeros(n, dtype=np.int8)  # 0 undecided, 1 kept, 2 suppressed
    for _ in range(_ROUNDS):
        kept = np.ones(n, dtype=bool)
        kept[dst] = False  # a box with a live incoming edge is not decided yet
        kept &= status == 0
        status[kept] = 1
        status[dst[kept.take(src)]] = 2
        # An edge stays live while both ends are undecided: once its source is kept, its target is
        # suppressed; a suppressed source suppresses nothing.
        live = (status.take(src) | status.take(dst)) == 0
        src, dst = src[live], dst[live]
        if src.size == 0:
            return status == 2
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    undecided = np.flatnonzero(status == 0)
    starts = np.searchsorted(src, undecided, side="left")
    ends = np.searchsorted(src, undecided, side="right")
    # Every box that could suppress box u has a lower position, so u's fate is final when reached.
    for u, lo, hi in zip(undecided.tolist(), starts.tolist(), ends.tolist(), strict=True):
        if status[u] == 0:
            status[dst[lo:hi]] = 2
    return status == 2


def _greedy(cols: np.ndarray, thr: float, max_det: int, classes: np.ndarray | None) -> np.ndarray:
    """Greedy NMS over boxes [5, N] sorted by descending score; returns kept positions (at most max_det).

    Blocks are processed in order together with the boxes kept so far; kept boxes are final because
    only higher-scored boxes can suppress a box.
    """
    n = cols.shape[1]
    if n <= _BLOCK:
        return np.flatnonzero(~_suppressed(cols, thr, classes))[:max_det]
    kept = np.empty(0, dtype=np.intp)
    start = 0
    while start < n and kept.size < max_det:
        stop = min(n, start + _BLOCK)
        idx = np.concatenate([kept, np.arange(start, stop)])
        cls = None if classes is None else classes.take(idx)
        kept = idx[~_suppressed(cols.take(idx, axis=1), thr, cls)][:max_det]
        start = stop
    return kept


def nms(
    boxes_xyxy: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray | None = None,
    iou_threshold: float = 0.45,
    max_det: int = 300,
) -> np.ndarray:
    """Greedy NMS; returns int64 indices into the inputs of the kept boxes, best score first.

    With ``class_ids`` boxes only suppress boxes of the same class. Non-finite rows are dropped.
    """
    boxes, scores, classes = _validate(boxes_xyxy, scores, class_ids)
    thr = float(iou_threshold)
    if not thr >= 0.0:
        raise ValueError(f"iou_threshold must be a number >= 0, got {iou_threshold!r}")
    if isinstance(max_det, bool) or not isinstance(max_det, (int, np.integer)) or max_det < 0:
        raise ValueError(f"max_det must be a non-negative int, got {max_det!r}")
    if boxes.shape[0] == 0 or max_det == 0:
        return np.empty(0, dtype=np.int64)

    if np.isfinite(boxes).all() and np.isfinite(scores).all():
        order = np.argsort(-scores, kind="stable")  # stable: equal scores keep ascending index order
    else:
        order = np.flatnonzero(np.isfinite(scores) & np.isfinite(boxes).all(axis=1))
        order = order[np.argsort(-scores[order], kind="stable")]
        if order.size == 0:
            return np.empty(0, dtype=np.int64)
    cols = np.empty((5, order.size), dtype=np.float64)  # x1, y1, x2, y2, area
    cols[:4] = boxes[order].T
    # invalid: 0/0 IoU of zero-area pairs (NaN, never above the threshold); over: areas of huge boxes.
    with np.errstate(over="ignore", invalid="ignore"):
        wh = cols[2:4] - cols[:2]
        np.maximum(wh, 0.0, out=wh)
        np.multiply(wh[0], wh[1], out=cols[4])
        same_class = None
        if classes is not None:
            offsets = _class_offsets(cols[:4], classes[order])
            if offsets is None:
                same_class = classes[order]  # compare class ids pair by pair instead
            else:
                cols[:4] += offsets
        keep = _greedy(cols, thr, int(max_det), same_class)
    return order[keep].astype(np.int64, copy=False)
