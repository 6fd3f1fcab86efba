"""Frames to benchmark on: images from a dataset, or deterministic synthetic scenes (no files needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["read_frames", "synthetic_frames"]


def synthetic_frames(n: int = 4, size: tuple[int, int] = (720, 1280), seed: int = 0) -> list[np.ndarray]:
    """`n` BGR uint8 frames of `size` (h, w): textured background with filled shapes, like a busy scene."""
    rng = np.random.default_rng(seed)
    h, w = size
    out = []
    for _ in range(n):
        img = rng.integers(60, 200, (h // 8, w // 8, 3), dtype=np.uint8)
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        for _ in range(int(rng.integers(6, 14))):
            color = tuple(int(c) for c in rng.integers(0, 255, 3))
            cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(min(h, w) // 30, min(h, w) // 8))
            kind = int(rng.integers(0, 3))
            if kind == 0:
                cv2.circle(img, (cx, cy), r, color, -1)
            elif kind == 1:
                cv2.rectangle(img, (cx - r, cy - r), (cx + r, cy + r), color, -1)
            else:
                pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
                cv2.fillPoly(img, [pts], color)
        out.append(img)
    return out


def read_frames(paths: Sequence[str | Path], limit: int = 16) -> list[np.ndarray]:
    """Up to `limit` readable images from `paths` (BGR uint8)."""
    frames = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None:
            frames.append(img)
        if len(frames) >= limit:
            break
    return frames
