"""A constant-velocity Kalman filter on box corners, for all tracks at once.

State per track: ``x1, y1, x2, y2`` and their velocities (8 values); measurement: the detected box.
The noise follows ByteTrack as `trackers` sets it for its XYXY state (initial covariance I, process
noise 0.01 I, measurement noise 0.1 I, in pixels): with those, the same detections predict the same boxes.
Every step works on stacked arrays, so 50 tracks cost a handful of numpy calls, not 50 filters.
"""

from __future__ import annotations

import numpy as np

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_H = np.eye(4, 8)
_EYE8 = np.eye(8)


class BoxKalman:
    """Means ``[T, 8]`` and covariances ``[T, 8, 8]`` of T tracks' box states."""

    def __init__(self, process_noise: float = 0.01, measurement_noise: float = 0.1) -> None:
        self.q = process_noise * np.eye(8)
        self.r = measurement_noise * np.eye(4)
        self.mean = np.empty((0, 8))
        self.cov = np.empty((0, 8, 8))

    def __len__(self) -> int:
        return len(self.mean)

    def add(self, boxes: np.ndarray) -> None:
        """Start one track per box ``[K, 4]`` at rest, with unit covariance."""
        mean = np.zeros((len(boxes), 8))
        mean[:, :4] = boxes
        self.mean = np.concatenate([self.mean, mean])
        self.cov = np.concatenate([self.cov, np.broadcast_to(_EYE8, (len(boxes), 8, 8))])

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the tracks at ``rows`` (int indices or a boolean mask), in order."""
        self.mean = self.mean[rows]
        self.cov = self.cov[rows]

    def predict(self) -> None:
        """Advance every track by one frame."""
        self.mean[:, :4] += self.mean[:, 4:]
        self.cov = _F @ self.cov @ _F.T + self.q

    def boxes(self) -> np.ndarray:
        """The current box estimates ``[T, 4]`` (a view)."""
        return self.mean[:, :4]

    def update(self, rows: np.ndarray, boxes: np.ndarray) -> None:
        """Correct the tracks at ``rows`` with measured ``boxes`` ``[K, 4]`` (Joseph-form covariance)."""
        if not len(rows):
            return
        p = self.cov[rows]
        s = p[:, :4, :4] + self.r
        gain = p[:, :, :4] @ np.linalg.inv(s)
        innovation = boxes - self.mean[rows, :4]
        self.mean[rows] += (gain @ innovation[:, :, None])[:, :, 0]
        i_kh = _EYE8 - gain @ _H
        self.cov[rows] = i_kh @ p @ i_kh.transpose(0, 2, 1) + gain @ self.r @ gain.transpose(0, 2, 1)
