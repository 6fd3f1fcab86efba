"""Noisy detections made from ground truth, to measure a tracker apart from any detector.

Each ground-truth box is dropped with probability ``drop``, its corners moved by Gaussian ``jitter``
pixels (standard deviation), and it gets a confidence uniform in [0.4, 1); each frame adds
Binomial(boxes, ``false_positives``) boxes of ground-truth sizes at random places, confidence uniform in
[0.1, 0.7). The *ceiling* is what these detections would score if each carried its true identity
(each false positive its own one-frame identity): no tracker fed them can score more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeyolo.data.mot import MotRows


@dataclass(frozen=True)
class Noise:
    drop: float = 0.10
    false_positives: float = 0.05
    jitter: float = 3.0


def noisy_detections(gt: MotRows, frames: int, size: tuple[int, int], noise: Noise, rng) -> MotRows:
    """Detections with their true identity in ``track_id`` (false positives: fresh ids from 10**6)."""
    width, height = size
    parts = []
    next_fp = 10**6
    for f in range(1, frames + 1):
        g = gt.at(f)
        keep = rng.random(len(g)) >= noise.drop
        g = g.select(keep)
        xyxy = g.xyxy + rng.normal(0.0, noise.jitter, g.xyxy.shape)
        xyxy[:, 2:] = np.maximum(xyxy[:, 2:], xyxy[:, :2] + 1)
        conf = rng.uniform(0.4, 1.0, len(g))
        n_fp = int(rng.binomial(len(keep), noise.false_positives))
        like = gt.xyxy[rng.integers(0, len(gt), n_fp)]
        sizes = np.clip(like[:, 2:] - like[:, :2], 4, None)
        corner = rng.uniform(0, 1, (n_fp, 2)) * (np.array([width, height]) - sizes).clip(1)
        fp_boxes = np.concatenate([corner, corner + sizes], 1)
        fp_ids = np.arange(next_fp, next_fp + n_fp)
        next_fp += n_fp
        classes = np.concatenate([g.class_id, rng.integers(0, max(int(gt.class_id.max()) + 1, 1), n_fp)])
        parts.append(
            MotRows(
                np.full(len(g) + n_fp, f, np.int64),
                np.concatenate([g.track_id, fp_ids]),
                np.concatenate([xyxy, fp_boxes]),
                np.concatenate([conf, rng.uniform(0.1, 0.7, n_fp)]),
                np.ones(len(g) + n_fp),
                classes.astype(np.int64),
            )
        )
    return MotRows.concat(parts)
