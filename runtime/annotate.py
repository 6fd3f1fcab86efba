"""Drawing detections on frames, kept apart from the `Detections` data."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from edgeyolo.runtime.detections import Detections


def class_color(class_id: int) -> tuple[int, int, int]:
    """A fixed, well-spread BGR colour per class id (golden-ratio hue steps)."""
    hue = (int(class_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_detections(frame: np.ndarray, detections: Detections, copy: bool = True) -> np.ndarray:
    """Draw boxes and "name conf" labels on a uint8 HxWx3 BGR frame (a copy unless ``copy=False``)."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise TypeError(f"expected a uint8 HxWx3 BGR frame, got {got}")
    if copy:
        frame = frame.copy()
    elif not frame.flags.c_contiguous or not frame.flags.writeable:
        raise ValueError("copy=False needs a writeable C-contiguous frame to draw on in place")
    h, w = frame.shape[:2]
    thickness = max(1, round((h + w) / 600))
    font_scale = max(0.3, thickness / 3)
    limit = np.array([w, h, w, h], dtype=np.float32) * 2
    for box, conf, cid in zip(
        detections.xyxy, detections.confidence.tolist(), detections.class_id.tolist(), strict=True
    ):
        if not np.isfinite(box).all():
            continue
        x1, y1, x2, y2 = np.clip(np.round(box), -limit, limit).astype(int).tolist()
        color = class_color(cid)
        cv2.rectangle(frame, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)
        label = f"{detections.name_of(cid)} {conf:.2f}"
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
