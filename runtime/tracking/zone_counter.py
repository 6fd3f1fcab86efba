"""`ZoneCounter`: which tracked objects are inside a polygon, how many per class, and for how long.

An identity is in the zone while its anchor point is inside the polygon; it stays in through misses of
up to ``max_missing`` frames (a flicker does not restart its dwell time) and leaves when it has been
outside or unseen for longer. Dwell time runs from the first frame inside to the last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.tracking.errors import TrackingError
from edgeyolo.runtime.tracking.geometry import anchor_points, check_anchor, check_polygon, inside_polygon
from edgeyolo.runtime.tracking.line_counter import tracker_ids


@dataclass
class _Stay:
    first: int
    last: int
    class_id: int


class ZoneCounter:
    """Occupancy per class and dwell time per identity for the zone ``polygon`` (x, y points)."""

    def __init__(
        self, polygon, anchor: str = "center", max_missing: int = 5, frame_rate: float = 30.0
    ) -> None:
        self.polygon = check_polygon(polygon)
        self.anchor = check_anchor(anchor)
        if isinstance(max_missing, bool) or not isinstance(max_missing, int) or max_missing < 0:
            raise TrackingError(f"max_missing must be a non-negative number of frames, got {max_missing!r}")
        if not (isinstance(frame_rate, (int, float)) and 0 < frame_rate < np.inf):
            raise TrackingError(f"frame_rate must be a positive number, got {frame_rate!r}")
        self.max_missing, self.frame_rate = max_missing, float(frame_rate)
        self.reset()

    def reset(self) -> None:
        self.frame = 0
        self.occupancy: dict[int, int] = {}  # class id -> objects inside on the last frame
        self.entered = 0  # identities that have entered so far
        self._stays: dict[int, _Stay] = {}
        self.finished: list[tuple[int, int, int]] = []  # (tracker id, class id, frames) of the last exits

    @property
    def count(self) -> int:
        """Objects inside on the last frame."""
        return sum(self.occupancy.values())

    def dwell_frames(self) -> dict[int, int]:
        """Frames each identity now in the zone has been there."""
        return {t: s.last - s.first + 1 for t, s in self._stays.items()}

    def dwell_seconds(self) -> dict[int, float]:
        return {t: f / self.frame_rate for t, f in self.dwell_frames().items()}

    def update(self, tracked: Detections) -> np.ndarray:
        """Feed one frame's tracked detections; returns a boolean mask [N] of those inside the zone."""
        ids = tracker_ids(tracked, "ZoneCounter")
        self.frame += 1
        points = anchor_points(tracked.xyxy.astype(np.float64), self.anchor)
        inside = inside_polygon(points, self.polygon) & (ids >= 0) & np.isfinite(points).all(1)
        occupancy: dict[int, int] = {}
        for tid, cid in zip(ids[inside].tolist(), tracked.class_id[inside].tolist(), strict=True):
            stay = self._stays.get(tid)
            if stay is None:
                self._stays[tid] = _Stay(self.frame, self.frame, cid)
                self.entered += 1
            else:
                stay.last = self.frame
            occupancy[self._stays[tid].class_id] = occupancy.get(self._stays[tid].class_id, 0) + 1
        self.occupancy = occupancy
        self.finished = []
        for tid in [t for t, s in self._stays.items() if self.frame - s.last > self.max_missing]:
            s = self._stays.pop(tid)
            self.finished.append((tid, s.class_id, s.last - s.first + 1))
        return inside
