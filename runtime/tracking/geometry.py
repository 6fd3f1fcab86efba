"""Points, lines and polygons for counting: anchors of boxes, validated lines and polygons."""

from __future__ import annotations

import numpy as np

from edgeyolo.runtime.tracking.errors import TrackingError

ANCHORS = ("center", "bottom_center", "top_center")


def anchor_points(xyxy: np.ndarray, anchor: str) -> np.ndarray:
    """The point [N, 2] of each box that counts: its centre, or the middle of its bottom or top edge."""
    x = (xyxy[:, 0] + xyxy[:, 2]) / 2
    if anchor == "center":
        y = (xyxy[:, 1] + xyxy[:, 3]) / 2
    elif anchor == "bottom_center":
        y = xyxy[:, 3]
    else:
        y = xyxy[:, 1]
    return np.stack([x, y], 1).astype(np.float64)


def check_anchor(anchor: str) -> str:
    if anchor not in ANCHORS:
        raise TrackingError(f"anchor must be one of {', '.join(ANCHORS)}, got {anchor!r}")
    return anchor


def as_points(value, name: str, minimum: int) -> np.ndarray:
    """``value`` as a finite float64 [K, 2] array with K ≥ ``minimum``, or a TrackingError naming it."""
    try:
        points = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TrackingError(f"{name} must be x, y points, got {value!r}") from None
    if points.ndim == 1 and points.size % 2 == 0:
        points = points.reshape(-1, 2)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < minimum:
        raise TrackingError(f"{name} must hold at least {minimum} x, y points, got {value!r}")
    if not np.isfinite(points).all():
        raise TrackingError(f"{name} must hold finite coordinates, got {value!r}")
    return points


def polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _segments_cross(p1, p2, q1, q2) -> bool:
    """Whether the closed segments p1p2 and q1q2 share a point."""

    def orient(a, b, c) -> float:
        return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    def on(a, b, c) -> bool:  # c on segment ab, given collinear
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    d1, d2, d3, d4 = orient(q1, q2, p1), orient(q1, q2, p2), orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    return any(
        d == 0 and on(a, b, c)
        for d, a, b, c in ((d1, q1, q2, p1), (d2, q1, q2, p2), (d3, p1, p2, q1), (d4, p1, p2, q2))
    )


def check_polygon(value, name: str = "polygon") -> np.ndarray:
    """A simple polygon (≥ 3 points, non-zero area, no edge crossing another), else TrackingError."""
    points = as_points(value, name, 3)
    k = len(points)
    edges = [(points[i], points[(i + 1) % k]) for i in range(k)]
    for i in range(k):
        for j in range(i + 1, k):
            if j == i + 1 or (i == 0 and j == k - 1):
                continue  # neighbours share a vertex
            if _segments_cross(*edges[i], *edges[j]):
                raise TrackingError(f"{name} intersects itself (edges {i + 1} and {j + 1} cross)")
    if abs(polygon_area(points)) < 1e-9:
        raise TrackingError(f"{name} has zero area (its points are on one line)")
    return points


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean [N]: which points lie inside the polygon (even-odd rule, vectorised)."""
    x, y = points[:, :1], points[:, 1:]
    x1, y1 = polygon[:, 0][None], polygon[:, 1][None]
    x2, y2 = np.roll(polygon[:, 0], -1)[None], np.roll(polygon[:, 1], -1)[None]
    straddles = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return (straddles & (x < x_cross)).sum(1) % 2 == 1


def segment_meets_rect(start: np.ndarray, end: np.ndarray, width: float, height: float) -> bool:
    """Whether the segment start-end has a point inside the rectangle [0, width] x [0, height]."""
    lo, hi = np.zeros(2), np.array([width, height], np.float64)
    t0, t1 = 0.0, 1.0
    d = end - start
    for axis in range(2):  # Liang-Barsky clipping
        if d[axis] == 0:
            if not lo[axis] <= start[axis] <= hi[axis]:
                return False
            continue
        a, b = (lo[axis] - start[axis]) / d[axis], (hi[axis] - start[axis]) / d[axis]
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
    return t0 <= t1
