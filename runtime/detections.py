"""`Detections`: the final boxes of one image, in original-image pixels, as a small dataclass of arrays."""

from __future__ import annotations

import colorsys
import json
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

__all__ = ["Detections"]


def _class_color(class_id: int) -> tuple[int, int, int]:
    """A fixed, well-spread BGR colour per class id (golden-ratio hue steps)."""
    hue = (int(class_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


@dataclass(eq=False)
class Detections:
    """Boxes ``xyxy`` float32 [N, 4] (original pixels), ``confidence`` float32 [N], ``class_id`` int64 [N].

    ``names`` maps class ids to names (may be empty). Index with an int, a slice, a boolean mask or an
    integer array; the result is always a `Detections`.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.size == 0 and xyxy.ndim < 2:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must have shape [N, 4], got {xyxy.shape}")
        n = xyxy.shape[0]
        confidence = np.asarray(self.confidence, dtype=np.float32)
        if confidence.size == 0:
            confidence = confidence.reshape(-1)
        if confidence.shape != (n,):
            raise ValueError(f"confidence must have shape [{n}] to match xyxy, got {confidence.shape}")
        class_id = np.asarray(self.class_id)
        if class_id.size == 0:
            class_id = class_id.reshape(-1)
        if class_id.shape != (n,):
            raise ValueError(f"class_id must have shape [{n}] to match xyxy, got {class_id.shape}")
        if class_id.dtype.kind not in "iu" and (
            class_id.dtype.kind != "f" or not np.all(np.mod(class_id, 1) == 0)
        ):
            raise TypeError(f"class_id must hold integers, got dtype {class_id.dtype}")
        names = self.names
        if isinstance(names, str) or not all(isinstance(s, str) for s in names):
            raise TypeError(f"names must be a sequence of str, got {names!r}")
        self.xyxy = xyxy
        self.confidence = confidence
        self.class_id = class_id.astype(np.int64, copy=False)
        self.names = tuple(names)

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: int | slice | np.ndarray | list[int] | list[bool]) -> Detections:
        if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
            n = len(self)
            if not -n <= int(index) < n:
                raise IndexError(f"index {int(index)} out of range for {n} detections")
            index = slice(int(index), int(index) + 1 or None)
        elif not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool:
                if index.shape != (len(self),):
                    raise IndexError(f"boolean mask must have shape [{len(self)}], got {index.shape}")
            elif index.size == 0:
                index = index.astype(np.int64)
            elif index.dtype.kind not in "iu" or index.ndim != 1:
                raise IndexError(
                    f"index must be an int, a slice, a boolean mask or a 1-D int array, got {index!r}"
                )
        return Detections(self.xyxy[index], self.confidence[index], self.class_id[index], self.names)

    @classmethod
    def empty(cls, names: tuple[str, ...] = ()) -> Detections:
        """No detections."""
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, np.int64), names)

    def name_of(self, class_id: int) -> str:
        """The name of a class id, or the id as text when ``names`` does not cover it."""
        return self.names[class_id] if 0 <= class_id < len(self.names) else str(class_id)

    def to_json(self) -> str:
        """JSON text: ``{"names": [...], "detections": [{"xyxy", "confidence", "class_id", "name"}]}``.

        float32 values round-trip exactly through `from_json`. Non-finite values raise ValueError.
        """
        dets = [
            {"xyxy": box, "confidence": conf, "class_id": cid, "name": self.name_of(cid)}
            for box, conf, cid in zip(
                self.xyxy.tolist(), self.confidence.tolist(), self.class_id.tolist(), strict=True
            )
        ]
        try:
            return json.dumps({"names": list(self.names), "detections": dets}, allow_nan=False)
        except ValueError as exc:
            raise ValueError("detections with NaN or infinite values cannot be written as JSON") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> Detections:
        """Inverse of `to_json`."""
        try:
            data: Any = json.loads(text)
            names = tuple(data.get("names", ()))
            dets = data["detections"]
            xyxy = np.array([d["xyxy"] for d in dets], dtype=np.float32).reshape(-1, 4)
            confidence = np.array([d["confidence"] for d in dets], dtype=np.float32)
            class_id = np.array([d["class_id"] for d in dets], dtype=np.int64)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"not a Detections JSON record: {exc}") from exc
        return cls(xyxy, confidence, class_id, names)

    def draw(self, frame: np.ndarray, copy: bool = True) -> np.ndarray:
        """Draw boxes and "name conf" labels on a uint8 HxWx3 BGR frame (a copy unless ``copy=False``)."""
        if (
            not isinstance(frame, np.ndarray)
            or frame.dtype != np.uint8
            or frame.ndim != 3
            or frame.shape[2] != 3
        ):
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
        for box, conf, cid in zip(self.xyxy, self.confidence.tolist(), self.class_id.tolist(), strict=True):
            if not np.isfinite(box).all():
                continue
            x1, y1, x2, y2 = np.clip(np.round(box), -limit, limit).astype(int).tolist()
            color = _class_color(cid)
            cv2.rectangle(frame, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)
            label = f"{self.name_of(cid)} {conf:.2f}"
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
