"""ByteTrack (Zhang et al., 2022): two-stage IoU association on Kalman-predicted boxes.

High-score detections are matched to every track first; low-score ones then rescue the tracks left
over (occluded objects lose score before they vanish). Unmatched tracks stay in a lost-track buffer;
unmatched high-score detections start new tracks, which get an identity once matched on consecutive
frames. Follows the association, lifecycle and Kalman tuning of Roboflow `trackers`' ByteTrack (tests
prove the identities agree with ``class_mismatch_weight=1, duplicate_iou=1, measurement_noise=0.1``)
and adds:

- class-aware matching that tolerates class flicker: a detection of another class than the track's
  (the class it started with) competes with its IoU weighted by ``class_mismatch_weight``, so a
  same-class detection wins a tie-break but a one-frame misclassification keeps the identity;
- one identity per object: boxes of different classes on the same object (class-aware NMS keeps
  both) are merged, only the most confident is tracked;
- a measurement noise of 1 px² instead of 0.1 (detections jitter by pixels: with 0.1 the filter follows
  every jitter, and predictions through occlusions drift; measured on the synthetic sequences);
- bounds: at most ``max_detections`` boxes per frame (the caller picks the most confident) and
  ``2 * max_detections`` tracks (the longest-lost are dropped first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from edgeyolo.runtime.nms import nms
from edgeyolo.runtime.tracking.assignment import assign, box_iou
from edgeyolo.runtime.tracking.errors import TrackingError
from edgeyolo.runtime.tracking.kalman import BoxKalman
from edgeyolo.runtime.tracking.methods import register


@dataclass(frozen=True)
class ByteTrackOptions:
    """ByteTrack's knobs, named as in Roboflow `trackers` (and supervision where it has them)."""

    frame_rate: float = field(
        default=30.0, metadata={"help": "frames per second of the stream (scales lost_track_buffer)"}
    )
    lost_track_buffer: int = field(
        default=30, metadata={"help": "frames (at 30 FPS) a lost track is kept for re-identification"}
    )
    track_activation_threshold: float = field(
        default=0.7, metadata={"help": "minimum confidence of a detection that starts a new track"}
    )
    high_conf_det_threshold: float = field(
        default=0.6, metadata={"help": "detections at or above this confidence are matched first"}
    )
    minimum_iou_threshold: float = field(
        default=0.1, metadata={"help": "minimum IoU between a track's predicted box and a detection"}
    )
    minimum_consecutive_frames: int = field(
        default=2, metadata={"help": "consecutive matched frames before a track gets an identity"}
    )
    class_mismatch_weight: float = field(
        default=0.7,
        metadata={
            "help": "class-aware matching: IoU weight of a detection whose class differs from the track's "
            "(0: never match across classes, 1: ignore classes)"
        },
    )
    duplicate_iou: float = field(
        default=0.7,
        metadata={
            "help": "boxes of any class overlapping a more confident one this much are the same object "
            "(only the most confident is tracked; 1: off)"
        },
    )
    measurement_noise: float = field(
        default=1.0,
        metadata={"help": "Kalman measurement noise: variance (px²) of a detected box edge (trackers: 0.1)"},
    )
    max_detections: int = field(
        default=1000, metadata={"help": "detections per frame considered (the most confident ones)"}
    )

    def __post_init__(self) -> None:
        for name in ("frame_rate", "measurement_noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise TrackingError(f"{name} must be a positive number, got {value!r}")
        unit = ("track_activation_threshold", "high_conf_det_threshold", "minimum_iou_threshold")
        for name in (*unit, "class_mismatch_weight", "duplicate_iou"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise TrackingError(f"{name} must be a number in [0, 1], got {value!r}")
        for name, low in (("lost_track_buffer", 0), ("minimum_consecutive_frames", 1), ("max_detections", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise TrackingError(f"{name} must be an integer ≥ {low}, got {value!r}")

    @property
    def max_lost_frames(self) -> int:
        """Frames a lost track survives at this frame rate (0 only for a zero buffer)."""
        if self.lost_track_buffer == 0:
            return 0
        return max(1, math.ceil(self.frame_rate / 30.0 * self.lost_track_buffer))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@register("bytetrack")
class ByteTrack:
    """The tracks of one stream: Kalman states plus identity, class and bookkeeping arrays."""

    Options = ByteTrackOptions

    def __init__(self, options: ByteTrackOptions) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        """Forget every track; identities start again from 0."""
        self.kalman = BoxKalman(measurement_noise=self.options.measurement_noise)
        self.ids = np.empty(0, np.int64)  # -1 until confirmed
        self.lost = np.empty(0, np.int64)  # frames since the last match
        self.hits = np.empty(0, np.int64)  # consecutive matched frames
        self.classes = np.empty(0, np.int64)
        self.next_id = 0

    def __len__(self) -> int:
        return len(self.ids)

    def update(self, xyxy: np.ndarray, confidence: np.ndarray, class_id: np.ndarray) -> np.ndarray:
        """Identities of one frame's boxes (finite, positive area; [N, 4] float64); -1 where none."""
        o = self.options
        out = np.full(len(xyxy), -1, np.int64)
        if o.duplicate_iou < 1 and len(xyxy) > 1:
            kept = np.zeros(len(xyxy), bool)
            kept[nms(xyxy, confidence, None, o.duplicate_iou, len(xyxy))] = True
            confidence = np.where(kept, confidence, -1.0)  # below every threshold: neither matched nor new
        if len(self.ids):
            self.hits[self.lost > 0] = 0
            self.kalman.predict()
            self.lost += 1
        predicted = self.kalman.boxes()

        high = np.flatnonzero(confidence >= o.high_conf_det_threshold)
        low = np.flatnonzero((confidence < o.high_conf_det_threshold) & (confidence >= 0))
        rows1, cols1 = self._match(np.arange(len(self.ids)), predicted, high, xyxy, class_id)
        left = np.setdiff1d(np.arange(len(self.ids)), rows1)
        rows2, cols2 = self._match(left, predicted, low, xyxy, class_id)
        rows = np.concatenate([rows1, rows2])
        dets = np.concatenate([cols1, cols2])

        self.kalman.update(rows, xyxy[dets])
        self.lost[rows] = 0
        self.hits[rows] += 1
        # identities in ByteTrack's order: first-stage matches, then second
        confirmed = rows[(self.ids[rows] == -1) & (self.hits[rows] >= o.minimum_consecutive_frames)]
        self.ids[confirmed] = np.arange(self.next_id, self.next_id + len(confirmed))
        self.next_id += len(confirmed)
        out[dets] = self.ids[rows]

        unmatched_high = np.setdiff1d(high, cols1)
        new = unmatched_high[confidence[unmatched_high] >= o.track_activation_threshold]
        self._spawn(xyxy[new], class_id[new])

        mature = (self.ids != -1) | (self.hits >= o.minimum_consecutive_frames)
        alive = np.flatnonzero((self.lost <= o.max_lost_frames) & (mature | (self.lost == 0)))
        if len(alive) > 2 * o.max_detections:  # bounded memory: the longest-lost tracks go first
            alive = np.sort(alive[np.argsort(self.lost[alive], kind="stable")[: 2 * o.max_detections]])
        self._keep(alive)
        return out

    def _match(self, tracks, predicted, dets, xyxy, class_id) -> tuple[np.ndarray, np.ndarray]:
        """Assign ``tracks`` (row indices) to ``dets`` (detection indices); returns both, matched."""
        if not len(tracks) or not len(dets):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        iou = box_iou(predicted[tracks], xyxy[dets])
        if self.options.class_mismatch_weight != 1:
            iou[self.classes[tracks][:, None] != class_id[dets][None, :]] *= (
                self.options.class_mismatch_weight
            )
        r, c = assign(iou, self.options.minimum_iou_threshold)
        return tracks[r], dets[c]

    def _spawn(self, boxes: np.ndarray, classes: np.ndarray) -> None:
        k = len(boxes)
        self.kalman.add(boxes)
        self.ids = np.concatenate([self.ids, np.full(k, -1, np.int64)])
        self.lost = np.concatenate([self.lost, np.zeros(k, np.int64)])
        self.hits = np.concatenate([self.hits, np.ones(k, np.int64)])
        self.classes = np.concatenate([self.classes, classes.astype(np.int64)])

    def _keep(self, rows: np.ndarray) -> None:
        self.kalman.keep(rows)
        self.ids, self.lost, self.hits, self.classes = (
            self.ids[rows],
            self.lost[rows],
            self.hits[rows],
            self.classes[rows],
        )
