"""A tiny YOLO dataset and model for the validation tests (independent of the synthetic data generator)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# (h, w) of each image and its objects: (class, x1, y1, x2, y2) in pixels; the last image has none.
IMAGES = [
    ((48, 64), [(0, 6, 8, 30, 40), (1, 36, 4, 60, 28)]),
    ((64, 48), [(1, 4, 10, 40, 50)]),
    ((40, 72), [(0, 40, 6, 66, 36), (0, 4, 4, 24, 20), (1, 28, 20, 44, 38)]),
    ((56, 56), []),
]
COLORS = [(40, 200, 40), (200, 60, 40)]


def make_dataset(root: Path, names: list[str]) -> Path:
    """Write images/val + labels/val and a data.yaml under `root`; returns the data.yaml path."""
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    for i, ((h, w), boxes) in enumerate(IMAGES):
        img = np.full((h, w, 3), 90, np.uint8)
        lines = []
        for c, x1, y1, x2, y2 in boxes:
            cv2.rectangle(img, (x1, y1), (x2, y2), COLORS[c], -1)
            lines.append(f"{c} {(x1 + x2) / 2 / w} {(y1 + y2) / 2 / h} {(x2 - x1) / w} {(y2 - y1) / h}")
        cv2.imwrite(str(root / "images" / "val" / f"im{i}.png"), img)
        if lines:
            (root / "labels" / "val" / f"im{i}.txt").write_text("\n".join(lines) + "\n")
    yaml = root / "data.yaml"
    yaml.write_text(f"path: .\nval: images/val\nnames: {names}\n")
    return yaml


def gt_boxes() -> list[np.ndarray]:
    """Each image's ground truth as (class, x1, y1, x2, y2) float rows."""
    return [np.array(boxes, np.float64).reshape(-1, 5) for _, boxes in IMAGES]
