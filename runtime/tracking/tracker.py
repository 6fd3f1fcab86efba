"""`Tracker`: identities across frames for the `Detections` of one stream."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.tracking.errors import TrackingError
from edgeyolo.runtime.tracking.methods import METHODS


class Tracker:
    """Gives each object an identity that follows it from frame to frame (one tracker per stream).

    ``Tracker(method="bytetrack", frame_rate=30, ...)`` takes the method's options as keywords (see
    `ByteTrackOptions`) or ready-made as ``options=``. ``update(detections)`` returns the detections
    that carry an identity, in their input order, with ``tracker_id`` int64 [N] set. Boxes that cannot
    be tracked — NaN or infinite coordinates or confidence, zero or negative area — never get one, and
    a frame's ``max_detections`` most confident boxes are the only ones considered. Deterministic: the
    same detections give the same identities.
    """

    def __init__(self, method: str = "bytetrack", options: Any = None, **kwargs: Any) -> None:
        if method not in METHODS:
            raise TrackingError(f"method must be one of {', '.join(sorted(METHODS))}, got {method!r}")
        cls = METHODS[method]
        if options is None:
            known = cls.Options.names()
            unknown = sorted(set(kwargs) - set(known))
            if unknown:
                raise TrackingError(
                    f"{method} has no option {', '.join(unknown)} (options: {', '.join(known)})"
                )
            options = cls.Options(**kwargs)
        elif kwargs:
            raise TrackingError("give the options either as options= or as keywords, not both")
        elif not isinstance(options, cls.Options):
            raise TrackingError(f"options must be a {cls.Options.__name__}, got {type(options).__name__}")
        self.method = method
        self.options = options
        self._impl = cls(options)

    def update(self, detections: Detections) -> Detections:
        """Track one frame's detections; returns those with an identity, ``tracker_id`` set."""
        if not isinstance(detections, Detections):
            raise TypeError(f"update takes the Detections of one frame, got {type(detections).__name__}")
        xyxy = detections.xyxy.astype(np.float64)
        conf = detections.confidence
        finite = np.isfinite(xyxy).all(1) & np.isfinite(conf)
        usable = finite & (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
        rows = np.flatnonzero(usable)
        cap = self.options.max_detections
        if len(rows) > cap:
            rows = np.sort(rows[np.argsort(-conf[rows], kind="stable")[:cap]])
        ids = self._impl.update(xyxy[rows], conf[rows], detections.class_id[rows])
        tracked = rows[ids >= 0]
        return detections[tracked].with_tracker_id(ids[ids >= 0])

    def reset(self) -> None:
        """Start over, as for a new video: no tracks, identities from 0."""
        self._impl.reset()

    def __repr__(self) -> str:
        return f"Tracker(method={self.method!r}, options={self.options!r})"
