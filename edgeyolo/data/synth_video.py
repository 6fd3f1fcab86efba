"""Synthetic videos for tracking: the dataset's shapes move, turn, occlude each other, enter and leave,
written as MOTChallenge sequences with ground-truth identities (see `edgeyolo.data.mot`).

Shapes are drawn exactly as in `edgeyolo.data.synth` (same polygons, rasteriser and labelling rules), so
the shipped model detects them: each box is the tight box of the shape's drawn pixels, and a shape
with more than `MAX_OCCLUDED` of its area hidden behind nearer shapes or outside the frame has no box
in that frame (its identity continues when it reappears). Each sequence comes from its own generator
seeded by (seed, sequence index): the same seed gives byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgeyolo.atomic import atomic_output
from edgeyolo.data.formats import DatasetError
from edgeyolo.data.mot import MotRows, SequenceInfo, format_gt
from edgeyolo.data.synth import (
    CLASSES,
    MAX_OCCLUDED,
    _pick_colour,
    background,
    mask_box,
    place_shape,
    shape_mask,
    unit_shape,
)
from edgeyolo.data.writer import current_umask, write_png


@dataclass
class _Shape:
    """One moving object: identity, class, polygon, pose and motion, depth (larger: nearer)."""

    track_id: int
    cls: int
    unit: np.ndarray
    size: float
    aspect: float
    centre: np.ndarray
    velocity: np.ndarray
    angle: float
    spin: float
    depth: float
    colour: np.ndarray

    def polygon(self) -> np.ndarray:
        return place_shape(self.unit, tuple(self.centre), self.size, self.aspect, self.angle)


def _spawn(track_id: int, imgsz: int, img: np.ndarray, rng: np.random.Generator, inside: bool) -> _Shape:
    cls = int(rng.integers(len(CLASSES)))
    size = float(np.exp(rng.uniform(np.log(0.08 * imgsz), np.log(0.25 * imgsz))))
    wide = CLASSES[cls] in ("circle", "square")
    aspect = float(np.exp(rng.uniform(-1, 1) * np.log(1.6 if wide else 1.2)))
    speed = rng.uniform(0.004, 0.012) * imgsz
    if inside:
        centre = rng.uniform(0.15 * imgsz, 0.85 * imgsz, 2)
        heading = rng.uniform(0, 2 * np.pi)
    else:  # just outside one edge, heading into the frame
        side = int(rng.integers(4))
        along = rng.uniform(0.1 * imgsz, 0.9 * imgsz)
        out = -size / 2 if side in (0, 2) else imgsz + size / 2
        centre = np.array([out, along] if side < 2 else [along, out])
        target = rng.uniform(0.25 * imgsz, 0.75 * imgsz, 2)
        heading = float(np.arctan2(*(target - centre)[::-1]))
    velocity = speed * np.array([np.cos(heading), np.sin(heading)])
    shape = _Shape(
        track_id, cls, unit_shape(cls, rng), size, aspect, centre, velocity,
        float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(-0.03, 0.03)), float(rng.random()), np.zeros(3),
    )  # fmt: skip
    x1, y1, x2, y2 = np.clip(np.concatenate([centre - size / 2, centre + size / 2]), 0, imgsz - 1).astype(int)
    shape.colour = _pick_colour(img, np.array([x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)]), rng)
    return shape


def render_sequence(
    imgsz: int, frames: int, rng: np.random.Generator, objects: tuple[int, int] = (4, 9)
) -> tuple[list[np.ndarray], MotRows]:
    """Draw one sequence: its frames (BGR uint8) and the ground-truth rows (1-based frames)."""
    base = background(imgsz, rng)
    shapes = [_spawn(i + 1, imgsz, base, rng, inside=True) for i in range(int(rng.integers(*objects)))]
    next_id = len(shapes) + 1
    images, parts = [], []
    for f in range(1, frames + 1):
        if (len(shapes) < objects[1] and rng.random() < 0.04) or len(shapes) < objects[0]:
            shapes.append(_spawn(next_id, imgsz, base, rng, inside=False))
            next_id += 1
        img = base.copy()
        drawn = []
        for s in sorted(shapes, key=lambda s: s.depth):
            poly = s.polygon()
            mask = shape_mask(poly, img.shape[:2])
            img[mask] = s.colour.astype(np.uint8)
            drawn.append((s, mask, float(cv2.contourArea(poly.astype(np.float32)))))
        grain = rng.standard_normal((imgsz, imgsz, 1), dtype=np.float32) * np.float32(2.0)
        images.append(np.clip(img + grain, 0, 255).astype(np.uint8))
        parts.append(_labels(f, drawn))
        for s in shapes:
            s.centre = s.centre + s.velocity
            s.velocity = s.velocity + rng.normal(0, 0.0004 * imgsz, 2)
            s.angle += s.spin
        margin = imgsz * 0.3
        shapes = [s for s in shapes if (-margin < s.centre).all() and (s.centre < imgsz + margin).all()]
    return images, MotRows.concat(parts)


def _labels(frame: int, drawn: list[tuple[_Shape, np.ndarray, float]]) -> MotRows:
    """Boxes of the shapes drawn back to front that keep more than 1 - MAX_OCCLUDED of their area."""
    rows = []
    covered = np.zeros(drawn[0][1].shape, bool) if drawn else None
    for s, mask, area in reversed(drawn):
        seen = int((mask & ~covered).sum())
        covered |= mask
        box = mask_box(mask)
        if box is not None and area > 0 and seen > (1 - MAX_OCCLUDED) * area:
            rows.append((s.track_id, box, min(seen / area, 1.0), s.cls))
    rows.sort(key=lambda r: r[0])
    n = len(rows)
    return MotRows(
        np.full(n, frame, np.int64),
        np.array([r[0] for r in rows], np.int64),
        np.array([r[1] for r in rows], np.float64).reshape(-1, 4),
        np.ones(n),
        np.array([r[2] for r in rows], np.float64),
        np.array([r[3] for r in rows], np.int64),
    )


def sequence_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 7, index]))


def generate_video(
    out: str | Path,
    sequences: int = 4,
    frames: int = 200,
    seed: int = 0,
    imgsz: int = 256,
    frame_rate: float = 30.0,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``sequences`` MOTChallenge sequences ``out/synth-NN`` of ``frames`` frames each; returns their
    folders. ``out`` appears only when complete; a non-empty ``out`` is replaced only with ``overwrite``."""
    out = Path(out)
    for name, value, low in (("sequences", sequences, 1), ("frames", frames, 1), ("seed", seed, 0)):
        if value < low:
            raise DatasetError(f"{name} must be at least {low}, got {value}")
    if imgsz < 64:
        raise DatasetError(f"imgsz must be at least 64 for videos, got {imgsz}")
    if not frame_rate > 0:
        raise DatasetError(f"frame_rate must be positive, got {frame_rate}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise DatasetError(f"{out} exists and is not empty; pass --overwrite to replace it")
    names = [f"synth-{i + 1:02d}" for i in range(sequences)]
    with atomic_output(out, directory=True) as tmp:
        tmp.chmod(0o777 & ~current_umask())
        for index, name in enumerate(names):
            images, gt = render_sequence(imgsz, frames, sequence_rng(seed, index))
            folder = tmp / name
            (folder / "img1").mkdir(parents=True)
            (folder / "gt").mkdir()
            for f, img in enumerate(images, 1):
                write_png(folder / "img1" / f"{f:06d}.png", img)
            (folder / "gt" / "gt.txt").write_text(format_gt(gt), encoding="utf-8")
            info = SequenceInfo(name, frames, frame_rate, imgsz, imgsz)
            (folder / "seqinfo.ini").write_text(info.format(), encoding="utf-8")
    return [out / n for n in names]
