"""`Detections`: the final boxes of one image, in original-image pixels, as a small dataclass of arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Detections"]


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
        """Kept for existing callers; the drawing is `edgeyolo.runtime.draw_detections`."""
        from edgeyolo.runtime.annotate import draw_detections

        return draw_detections(frame, self, copy)
