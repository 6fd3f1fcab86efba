"""`LineCounter`: how many tracked objects crossed a line segment, each way, in total and per class.

Direction: looking from ``start`` towards ``end``, an object crossing from the left-hand side to the
right-hand side counts *in*, the other way *out* (image coordinates, y down: for a line drawn left to
right, moving down the image is *in*).

Hysteresis, so an object counts once per crossing: each identity has a confirmed side, which changes
only when its anchor point is more than ``margin`` pixels beyond the line; movement inside that band
(a box flickering or jittering on the line) never counts. The side is kept while the identity is
missed for a while (a 3-frame miss during the crossing is one crossing, counted when it is seen again),
and forgotten ``forget_after`` frames after it was last seen. A change of side counts only where the
anchor's path between the two confirmed positions passes through the segment, not beside it. The class
of a crossing is the class the identity was seen with most often, so class flicker moves no count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.tracking.errors import TrackingError
from edgeyolo.runtime.tracking.geometry import anchor_points, as_points, check_anchor, segment_meets_rect


@dataclass
class _Identity:
    side: int = 0  # -1 left, +1 right, 0 not yet known
    point: np.ndarray | None = None  # anchor where the side was last confirmed
    last_seen: int = 0
    classes: dict[int, int] = field(default_factory=dict)

    def vote(self, class_id: int) -> None:
        self.classes[class_id] = self.classes.get(class_id, 0) + 1

    def majority(self) -> int:
        return max(sorted(self.classes), key=lambda c: self.classes[c])


def tracker_ids(tracked: Detections, who: str) -> np.ndarray:
    if not isinstance(tracked, Detections):
        raise TypeError(f"{who}.update takes tracked Detections, got {type(tracked).__name__}")
    if tracked.tracker_id is None:
        raise TrackingError(f"{who}.update needs tracked detections (the output of Tracker.update)")
    return tracked.tracker_id


class LineCounter:
    """Counts crossings of the segment ``start`` → ``end`` by tracked objects' ``anchor`` points."""

    def __init__(
        self,
        start: tuple[float, float],
        end: tuple[float, float],
        anchor: str = "center",
        margin: float = 4.0,
        forget_after: int = 300,
    ) -> None:
        self.start, self.end = as_points([start, end], "line", 2)
        self.direction = self.end - self.start
        self.length = float(np.hypot(*self.direction))
        if not self.length > 0:
            raise TrackingError(f"line has zero length (start and end are both {tuple(self.start)})")
        self.anchor = check_anchor(anchor)
        if not (isinstance(margin, (int, float)) and 0 <= margin < np.inf):
            raise TrackingError(f"margin must be a non-negative number of pixels, got {margin!r}")
        if isinstance(forget_after, bool) or not isinstance(forget_after, int) or forget_after < 1:
            raise TrackingError(f"forget_after must be a positive number of frames, got {forget_after!r}")
        self.margin, self.forget_after = float(margin), forget_after
        self.reset()

    def reset(self) -> None:
        """Zero the counts and forget every identity."""
        self.in_count = 0
        self.out_count = 0
        self.counts: dict[int, dict[str, int]] = {}  # class id -> {"in": n, "out": m}
        self._ids: dict[int, _Identity] = {}
        self.frame = 0

    def check_frame(self, width: int, height: int) -> None:
        """Refuse a line that lies entirely outside a ``width`` x ``height`` frame (it could never count)."""
        if not segment_meets_rect(self.start, self.end, width, height):
            raise TrackingError(
                f"line {tuple(self.start.tolist())} -> {tuple(self.end.tolist())} lies outside the "
                f"{width}x{height} frame"
            )

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Pixels from the line's infinite extension, positive on the right-hand side."""
        rel = points - self.start
        return (self.direction[0] * rel[:, 1] - self.direction[1] * rel[:, 0]) / self.length

    def update(self, tracked: Detections) -> tuple[np.ndarray, np.ndarray]:
        """Feed one frame's tracked detections; returns boolean masks [N] of those that crossed in and
        out on this frame."""
        ids = tracker_ids(tracked, "LineCounter")
        self.frame += 1
        crossed_in = np.zeros(len(ids), bool)
        crossed_out = np.zeros(len(ids), bool)
        points = anchor_points(tracked.xyxy.astype(np.float64), self.anchor)
        distance = self.signed_distance(points)
        for k, (tid, cid) in enumerate(zip(ids.tolist(), tracked.class_id.tolist(), strict=True)):
            if tid < 0 or not np.isfinite(distance[k]):
                continue
            state = self._ids.setdefault(tid, _Identity())
            state.last_seen = self.frame
            state.vote(cid)
            if abs(distance[k]) <= self.margin:
                continue
            side = 1 if distance[k] > 0 else -1
            if state.side == side:
                state.point = points[k]
                continue
            if state.side != 0 and self._through_segment(state.point, points[k]):
                key = "in" if side == 1 else "out"
                per_class = self.counts.setdefault(state.majority(), {"in": 0, "out": 0})
                per_class[key] += 1
                if side == 1:
                    self.in_count += 1
                    crossed_in[k] = True
                else:
                    self.out_count += 1
                    crossed_out[k] = True
            state.side, state.point = side, points[k]
        if self.frame % 64 == 0 or len(self._ids) > 4 * self.forget_after:
            stale = [t for t, s in self._ids.items() if self.frame - s.last_seen > self.forget_after]
            for t in stale:
                del self._ids[t]
        return crossed_in, crossed_out

    def _through_segment(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the path a → b (on opposite sides of the line) crosses it between start and end."""
        da, db = self.signed_distance(np.stack([a, b]))
        t = da / (da - db)
        crossing = a + t * (b - a)
        along = float(np.dot(crossing - self.start, self.direction)) / self.length**2
        return 0.0 <= along <= 1.0
