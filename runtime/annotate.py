"""Drawing on frames, kept apart from the data: boxes and labels, identities' trails, counting lines
and zones."""

from __future__ import annotations

import colorsys
from collections import deque

import cv2
import numpy as np

from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.tracking.geometry import anchor_points
from edgeyolo.runtime.tracking.line_counter import LineCounter
from edgeyolo.runtime.tracking.zone_counter import ZoneCounter


def class_color(class_id: int) -> tuple[int, int, int]:
    """A fixed, well-spread BGR colour per class id (golden-ratio hue steps)."""
    hue = (int(class_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def _canvas(frame: np.ndarray, copy: bool) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise TypeError(f"expected a uint8 HxWx3 BGR frame, got {got}")
    if copy:
        return frame.copy()
    if not frame.flags.c_contiguous or not frame.flags.writeable:
        raise ValueError("copy=False needs a writeable C-contiguous frame to draw on in place")
    return frame


def _thickness(frame: np.ndarray) -> int:
    h, w = frame.shape[:2]
    return max(1, round((h + w) / 600))


def draw_detections(frame: np.ndarray, detections: Detections, copy: bool = True) -> np.ndarray:
    """Draw boxes and "name conf" labels on a uint8 HxWx3 BGR frame (a copy unless ``copy=False``).

    Tracked detections are labelled "#id name conf" and coloured by identity rather than by class."""
    frame = _canvas(frame, copy)
    h, w = frame.shape[:2]
    thickness = _thickness(frame)
    font_scale = max(0.3, thickness / 3)
    limit = np.array([w, h, w, h], dtype=np.float32) * 2
    ids = detections.tracker_id.tolist() if detections.tracker_id is not None else [None] * len(detections)
    for box, conf, cid, tid in zip(
        detections.xyxy, detections.confidence.tolist(), detections.class_id.tolist(), ids, strict=True
    ):
        if not np.isfinite(box).all():
            continue
        x1, y1, x2, y2 = np.clip(np.round(box), -limit, limit).astype(int).tolist()
        color = class_color(cid if tid is None else tid)
        cv2.rectangle(frame, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)
        label = (
            f"{detections.name_of(cid)} {conf:.2f}"
            if tid is None
            else f"#{tid} {detections.name_of(cid)} {conf:.2f}"
        )
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        ty = y1 - 2 if y1 - th - base - 2 >= 0 else y1 + th + 2
        cv2.rectangle(frame, (x1, ty - th - 2), (x1 + tw + 2, ty + base), color, cv2.FILLED)
        cv2.putText(
            frame,
            label,
            (x1 + 1, ty),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )
    return frame


class Trails:
    """The last ``length`` anchor points of each identity, drawn as a fading polyline behind it.

    Memory is bounded: an identity unseen for ``forget_after`` updates is dropped."""

    def __init__(self, length: int = 20, anchor: str = "center", forget_after: int = 30) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 2:
            raise ValueError(f"length must be an integer ≥ 2, got {length!r}")
        self.length, self.anchor, self.forget_after = length, anchor, forget_after
        self._points: dict[int, deque] = {}
        self._seen: dict[int, int] = {}
        self._frame = 0

    def update(self, tracked: Detections) -> None:
        """Add one frame's tracked detections (untracked ones are ignored)."""
        self._frame += 1
        if tracked.tracker_id is not None and len(tracked):
            points = anchor_points(tracked.xyxy.astype(np.float64), self.anchor)
            for tid, point in zip(tracked.tracker_id.tolist(), points, strict=True):
                if np.isfinite(point).all():
                    self._points.setdefault(tid, deque(maxlen=self.length)).append(point)
                    self._seen[tid] = self._frame
        for tid in [t for t, f in self._seen.items() if self._frame - f > self.forget_after]:
            del self._points[tid], self._seen[tid]

    def draw(self, frame: np.ndarray, copy: bool = True) -> np.ndarray:
        frame = _canvas(frame, copy)
        thickness = _thickness(frame)
        limit = 2 * max(frame.shape[:2])
        for tid, points in self._points.items():
            pts = np.clip(np.round(np.array(points)), -limit, limit).astype(np.int32)
            cv2.polylines(frame, [pts.reshape(-1, 1, 2)], False, class_color(tid), thickness, cv2.LINE_AA)
        return frame


def _text(frame: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int]) -> None:
    thickness = _thickness(frame)
    scale = max(0.4, thickness / 2.5)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = int(np.clip(origin[0], 0, max(frame.shape[1] - tw - 2, 0)))
    y = int(np.clip(origin[1], th + 2, max(frame.shape[0] - base, th + 2)))
    cv2.rectangle(frame, (x, y - th - 2), (x + tw + 2, y + base), (0, 0, 0), cv2.FILLED)
    cv2.putText(frame, text, (x + 1, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)


def draw_line_counter(frame: np.ndarray, counter: LineCounter, copy: bool = True) -> np.ndarray:
    """The counting line with its "in / out" totals."""
    frame = _canvas(frame, copy)
    limit = 4 * max(frame.shape[:2])
    a, b = (
        tuple(np.clip(np.round(p), -limit, limit).astype(int).tolist()) for p in (counter.start, counter.end)
    )
    cv2.line(frame, a, b, (255, 255, 255), _thickness(frame) + 1, cv2.LINE_AA)
    mid = ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2)
    _text(frame, f"in {counter.in_count}  out {counter.out_count}", mid, (255, 255, 255))
    return frame


def draw_zone_counter(frame: np.ndarray, zone: ZoneCounter, copy: bool = True) -> np.ndarray:
    """The zone's outline with the number of objects inside."""
    frame = _canvas(frame, copy)
    limit = 4 * max(frame.shape[:2])
    pts = np.clip(np.round(zone.polygon), -limit, limit).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(frame, [pts], True, (0, 255, 255), _thickness(frame) + 1, cv2.LINE_AA)
    top = zone.polygon[np.argmin(zone.polygon[:, 1])]
    _text(frame, f"zone {zone.count}", (int(top[0]), int(top[1]) - 4), (0, 255, 255))
    return frame
