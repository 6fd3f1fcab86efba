"""A deterministic synthetic detection dataset (circle, square, triangle, star, cross) in YOLO format.

Each image is drawn from its own generator seeded by (seed, split, index), so the same seed gives
byte-identical files. Shapes are filled polygons drawn without anti-aliasing; each label is the tight
box of the shape's drawn pixels (clipped to the image). Later shapes may cover earlier ones; a shape
hidden by more than `MAX_OCCLUDED` of its pixels loses its label.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgeyolo.atomic import atomic_output
from edgeyolo.data.formats import DatasetError
from edgeyolo.data.writer import (
    SplitWriter,
    current_umask,
    format_labels,
    write_data_yaml,
    write_png,
    xyxy_to_yolo,
)

CLASSES = ("circle", "square", "triangle", "star", "cross")
MAX_OCCLUDED = 0.6  # labels of shapes with more than this fraction of their pixels covered are dropped
MIN_INSIDE = 0.7  # fraction of a shape's area that must lie inside the image
_SHIFT = 4  # fillPoly sub-pixel bits
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class SynthImage:
    """One generated image (BGR uint8) with its objects: `classes` int [n], `boxes` pixel xyxy [n, 4]."""

    image: np.ndarray
    classes: np.ndarray
    boxes: np.ndarray


def unit_shape(cls: int, rng: np.random.Generator) -> np.ndarray:
    """Polygon [k, 2] of class `cls` centred at 0 with extent about [-1, 1] on each axis."""
    name = CLASSES[cls]
    if name == "circle":
        t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if name == "square":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64)
    if name == "triangle":
        t = np.pi / 2 + np.array([0, 2, 4]) * np.pi / 3
        return np.stack([np.cos(t), np.sin(t)], 1)
    if name == "star":
        inner = rng.uniform(0.38, 0.5)
        t = np.pi / 2 + np.arange(10) * np.pi / 5
        r = np.where(np.arange(10) % 2 == 0, 1.0, inner)
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    a = rng.uniform(0.28, 0.4)  # cross: half-thickness of the arms
    return np.array(
        [
            [-a, -1],
            [a, -1],
            [a, -a],
            [1, -a],
            [1, a],
            [a, a],
            [a, 1],
            [-a, 1],
            [-a, a],
            [-1, a],
            [-1, -a],
            [-a, -a],
        ],
        np.float64,
    )


def place_shape(
    unit: np.ndarray, centre: tuple[float, float], size: float, aspect: float, angle: float
) -> np.ndarray:
    """Scale the unit polygon to `size` px (longer side, before rotation) with width/height `aspect`,
    rotate it by `angle` radians and move it to `centre`."""
    half = size / 2
    sx, sy = (half, half / aspect) if aspect >= 1 else (half * aspect, half)
    pts = unit * np.array([sx, sy])
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, s], [-s, c]]) + np.asarray(centre, np.float64)


def shape_mask(poly: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the polygon's pixels (no anti-aliasing, sub-pixel vertex precision)."""
    mask = np.zeros(shape, np.uint8)
    pts = np.round(poly * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask.astype(bool)


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """Tight pixel box (x1, y1, x2, y2) of a mask, edges on pixel borders; None when empty."""
    cols = np.flatnonzero(mask.any(0))
    rows = np.flatnonzero(mask.any(1))
    if not len(cols):
        return None
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random colour gradients + blurred (mostly luminance) noise + a few random lines."""
    grid = rng.integers(0, 256, (rng.integers(2, 5), rng.integers(2, 5), 3)).astype(np.float32)
    img = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    half = max(size // 2, 1)
    noise = rng.standard_normal((half, half, 3), dtype=np.float32)
    noise = 0.75 * noise.mean(2, keepdims=True) + 0.25 * noise
    noise = cv2.GaussianBlur(noise, (0, 0), rng.uniform(0.5, 2.0))
    noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_LINEAR)
    img += noise * np.float32(rng.uniform(6, 20) / max(float(noise.std()), 1e-6))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(0, 6)):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.line(img, p1, p2, colour, int(rng.integers(1, 4)), lineType=cv2.LINE_8)
    return img


def _sample_size(imgsz: int, rng: np.random.Generator, large_left: bool) -> float:
    if rng.random() < 0.15:
        return rng.uniform(8, 12)
    hi = 0.6 * imgsz if large_left else 0.3 * imgsz
    return float(np.exp(rng.uniform(np.log(12), np.log(hi))))


def _pick_colour(img: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fill colour contrasting with the area under the shape (low contrast about 1 time in 10)."""
    x1, y1, x2, y2 = box.astype(int)
    under = img[y1:y2, x1:x2].reshape(-1, 3).mean(0)
    lo, hi = (30.0, 70.0) if rng.random() < 0.1 else (90.0, 1e9)
    colour = rng.integers(0, 256, 3).astype(np.float32)
    for _ in range(30):
        if lo <= float(np.linalg.norm(colour - under)) < hi:
            break
        colour = rng.integers(0, 256, 3).astype(np.float32)
    return colour


def _fill(img: np.ndarray, mask: np.ndarray, box: np.ndarray, colour: np.ndarray, rng) -> None:
    """Paint the shape: a solid colour, or (2 times in 5) a linear gradient from `colour`."""
    if rng.random() < 0.6:
        img[mask] = colour.astype(np.uint8)
        return
    ys, xs = np.nonzero(mask)
    angle = rng.uniform(0, 2 * np.pi)
    t = (xs - box[0]) * np.cos(angle) + (ys - box[1]) * np.sin(angle)
    t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
    other = colour * rng.uniform(0.55, 0.85)
    img[ys, xs] = (colour * (1 - t[:, None]) + other * t[:, None]).astype(np.uint8)


def draw_shapes(
    img: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[list[int], list[np.ndarray], list[np.ndarray]]:
    """Paint `count` random shapes onto square BGR `img` in order (later ones on top).

    Returns their classes, tight pixel boxes (x1, y1, x2, y2) and boolean masks. A shape is redrawn
    elsewhere until at least `MIN_INSIDE` of it lies in the image (given up after 10 tries)."""
    imgsz = img.shape[0]
    classes, boxes, masks = [], [], []
    large = 0
    for _ in range(count):
        cls = int(rng.integers(len(CLASSES)))
        size = _sample_size(imgsz, rng, large < 2)
        large += size > 0.3 * imgsz
        wide = CLASSES[cls] in ("circle", "square")
        aspect = float(np.exp(rng.uniform(-1, 1) * np.log(2.0 if wide else 1.3)))
        unit = unit_shape(cls, rng)
        for _try in range(10):
            centre = rng.uniform(0, imgsz, 2)
            poly = place_shape(unit, centre, size, aspect, rng.uniform(0, 2 * np.pi))
            mask = shape_mask(poly, img.shape[:2])
            if mask.any() and mask.sum() >= MIN_INSIDE * cv2.contourArea(poly.astype(np.float32)):
                break
        else:
            continue
        box = mask_box(mask)
        _fill(img, mask, box, _pick_colour(img, box, rng), rng)
        classes.append(cls)
        boxes.append(box)
        masks.append(mask)
    return classes, boxes, masks


def synth_image(imgsz: int, rng: np.random.Generator) -> SynthImage:
    """Draw one image with 1–8 shapes; returns the image and the labels of the shapes left visible."""
    img = background(imgsz, rng)
    classes, boxes, masks = draw_shapes(img, int(rng.integers(1, 9)), rng)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0.6)
    if rng.random() < 0.5:
        grain = rng.standard_normal((imgsz, imgsz, 1), dtype=np.float32) * np.float32(rng.uniform(1, 4))
        img = np.clip(img + grain, 0, 255).astype(np.uint8)
    keep = visible(masks)
    return SynthImage(
        img,
        np.array([c for c, k in zip(classes, keep, strict=True) if k], np.int64),
        np.array([b for b, k in zip(boxes, keep, strict=True) if k], np.float32).reshape(-1, 4),
    )


def visible(masks: list[np.ndarray]) -> list[bool]:
    """For shapes drawn in order, whether each keeps more than 1 - MAX_OCCLUDED of its pixels."""
    keep = []
    covered = np.zeros(masks[0].shape, bool) if masks else None
    for mask in reversed(masks):
        area = int(mask.sum())
        hidden = int((mask & covered).sum())
        keep.append(hidden <= MAX_OCCLUDED * area)
        covered |= mask
    return keep[::-1]


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one image: independent of how many images come before it."""
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_IDS[split], index]))


def generate(
    out: str | Path,
    counts: dict[str, int],
    seed: int = 0,
    imgsz: int = 320,
    overwrite: bool = False,
    workers: int = 0,
    progress: Callable | None = None,
) -> Path:
    """Write a synthetic dataset to `out` (images/<split>/*.png, labels/<split>/*.txt, data.yaml) and
    return the data.yaml path. `counts` maps split → number of images; `workers` processes draw them
    (0: one per CPU, at most 8; the files do not depend on it). `out` appears only when complete; an
    existing non-empty `out` is replaced only with `overwrite`."""
    out = Path(out)
    if seed < 0:
        raise DatasetError(f"--seed must be non-negative, got {seed}")
    if imgsz < 32:
        raise DatasetError(f"--imgsz must be at least 32, got {imgsz}")
    if set(counts) - set(_SPLIT_IDS):
        raise DatasetError(f"splits must be among {', '.join(_SPLIT_IDS)}, got {', '.join(counts)}")
    if any(n < 0 for n in counts.values()) or not any(counts.values()):
        raise DatasetError("give a positive number of images (--train N, --val M)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise DatasetError(f"{out} exists and is not empty; pass --overwrite to replace it")
    progress = progress or (lambda it, **_: it)
    workers = workers or min(os.cpu_count() or 1, 8)
    pool = None
    if workers > 1 and sum(counts.values()) > 1:
        # spawn, not fork: a forked child can deadlock in OpenCV's or OpenMP's thread pools
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, context, initializer=_single_thread)
    try:
        with atomic_output(out, directory=True) as tmp:
            tmp.chmod(0o777 & ~current_umask())
            splits = [s for s, n in counts.items() if n > 0]
            for split in splits:
                with SplitWriter(tmp, split) as writer:
                    tasks = [(writer.tmp, seed, split, i, imgsz) for i in range(counts[split])]
                    done = pool.map(_render_one, tasks, chunksize=8) if pool else map(_render_one, tasks)
                    for _ in progress(done, total=len(tasks), desc=split):
                        pass
            write_data_yaml(tmp, list(CLASSES), splits)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return out / "data.yaml"


def _single_thread() -> None:
    cv2.setNumThreads(1)  # one process per core already


def _render_one(task: tuple[Path, int, str, int, int]) -> None:
    folder, seed, split, index, imgsz = task
    item = synth_image(imgsz, image_rng(seed, split, index))
    name = f"{index:06d}"
    write_png(folder / "images" / f"{name}.png", item.image)
    boxes = xyxy_to_yolo(item.boxes, imgsz, imgsz)
    (folder / "labels" / f"{name}.txt").write_text(format_labels(item.classes, boxes), encoding="utf-8")
