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

    ``names`` maps class ids to names (may be empty). ``tracker_id`` int64 [N] is the identity of each box
    across frames, set by `Tracker.update` (None before tracking). Index with an int, a slice, a boolean
    mask or an integer array; the result is always a `Detections`. Drawing lives in
    `edgeyolo.runtime.annotate`, apart from the data.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    names: tuple[str, ...] = field(default=())
    tracker_id: np.ndarray | None = None

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
        tracker_id = None if self.tracker_id is None else np.asarray(self.tracker_id)
        if tracker_id is not None:
            if tracker_id.size == 0:
                tracker_id = tracker_id.reshape(-1)
            if tracker_id.shape != (n,):
                raise ValueError(f"tracker_id must have shape [{n}] to match xyxy, got {tracker_id.shape}")
            if tracker_id.size and tracker_id.dtype.kind not in "iu":
                raise TypeError(f"tracker_id must hold integers, got dtype {tracker_id.dtype}")
            tracker_id = tracker_id.astype(np.int64, copy=False)
        names = self.names
        if isinstance(names, str) or not all(isinstance(s, str) for s in names):
            raise TypeError(f"names must be a sequence of str, got {names!r}")
        self.xyxy = xyxy
        self.confidence = confidence
        self.class_id = class_id.astype(np.int64, copy=False)
        self.names = tuple(names)
        self.tracker_id = tracker_id

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
        tracker_id = None if self.tracker_id is None else self.tracker_id[index]
        return Detections(
            self.xyxy[index], self.confidence[index], self.class_id[index], self.names, tracker_id
        )

    @classmethod
    def empty(cls, names: tuple[str, ...] = ()) -> Detections:
        """No detections."""
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, np.int64), names)

    def name_of(self, class_id: int) -> str:
        """The name of a class id, or the id as text when ``names`` does not cover it."""
        return self.names[class_id] if 0 <= class_id < len(self.names) else str(class_id)

    def with_tracker_id(self, tracker_id: np.ndarray) -> Detections:
        """The same boxes carrying identities ``tracker_id`` int64 [N]."""
        return Detections(self.xyxy, self.confidence, self.class_id, self.names, tracker_id)

    def to_json(self) -> str:
        """JSON text: ``{"names": [...], "detections": [{"xyxy", "confidence", "class_id", "name"}]}``;
        once tracked, ``"tracked": true`` and each detection's ``tracker_id``.

        float32 values round-trip exactly through `from_json`. Non-finite values raise ValueError.
        """
        dets = [
            {"xyxy": box, "confidence": conf, "class_id": cid, "name": self.name_of(cid)}
            for box, conf, cid in zip(
                self.xyxy.tolist(), self.confidence.tolist(), self.class_id.tolist(), strict=True
            )
        ]
        record: dict[str, Any] = {"names": list(self.names), "detections": dets}
        if self.tracker_id is not None:
            record["tracked"] = True
            for det, tid in zip(dets, self.tracker_id.tolist(), strict=True):
                det["tracker_id"] = tid
        try:
            return json.dumps(record, allow_nan=False)
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
            tracked = [d["tracker_id"] for d in dets if "tracker_id" in d]
            if tracked and len(tracked) != len(dets):
                raise ValueError("tracker_id is given for some detections only")
            tracker_id = np.array(tracked, dtype=np.int64) if tracked or data.get("tracked") else None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"not a Detections JSON record: {exc}") from exc
        return cls(xyxy, confidence, class_id, names, tracker_id)
