"""Training augmentation (YOLOv5 style): mosaic, random affine, HSV jitter, flips.

Every function takes its randomness from an explicit `np.random.Generator`, so a result depends only
on the inputs and the generator's state. Labels are float32 [n, 5] = (class, x1, y1, x2, y2) in pixels
of the image they travel with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import cv2
import numpy as np

from edgeyolo.data.formats import DatasetError


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation hyper-parameters (YOLOv5 names and defaults)."""

    mosaic: float = 1.0  # probability of a 4-image mosaic
    degrees: float = 0.0  # rotation range (±deg)
    translate: float = 0.1  # translation (± fraction of the output size)
    scale: float = 0.5  # scale gain range (1 ± scale)
    shear: float = 0.0  # shear range (±deg)
    hsv_h: float = 0.015  # hue gain (fraction)
    hsv_s: float = 0.7  # saturation gain (fraction)
    hsv_v: float = 0.4  # value gain (fraction)
    fliplr: float = 0.5  # probability of a horizontal flip
    flipud: float = 0.0  # probability of a vertical flip
    min_size: float = 2.0  # boxes narrower or shorter than this (px) after a transform are dropped
    min_area_ratio: float = 0.1  # … and so are boxes keeping less than this fraction of their area
    pad_value: int = 114

    @classmethod
    def from_dict(cls, hyp: dict) -> AugmentConfig:
        """The fields of `hyp` that are augmentation settings (others, e.g. learning rates, ignored)."""
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: type(getattr(cls, k))(v) for k, v in hyp.items() if k in known})
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"bad augmentation setting: {exc}") from exc


def resize_long_side(img: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio so the longer side is `size`; returns the image and the ratio."""
    h, w = img.shape[:2]
    r = size / max(h, w)
    if r == 1:
        return img, 1.0
    new = (max(1, round(w * r)), max(1, round(h * r)))
    interp = cv2.INTER_LINEAR if r > 1 else cv2.INTER_AREA
    return cv2.resize(img, new, interpolation=interp), r


def areas(labels: np.ndarray) -> np.ndarray:
    """Box areas of (class, x1, y1, x2, y2) labels."""
    return (labels[:, 3] - labels[:, 1]).clip(0) * (labels[:, 4] - labels[:, 2]).clip(0)


def clip_labels(labels: np.ndarray, width: float, height: float) -> np.ndarray:
    """Labels with boxes clipped to [0, width] x [0, height] (a new array)."""
    out = labels.copy()
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, width)
    out[:, [2, 4]] = out[:, [2, 4]].clip(0, height)
    return out


def box_candidates(
    labels: np.ndarray, area_before: np.ndarray, min_size: float = 2.0, min_area_ratio: float = 0.1
) -> np.ndarray:
    """Mask of boxes to keep: both sides > `min_size` px, area > `min_area_ratio` * `area_before`,
    aspect ratio < 20."""
    w = labels[:, 3] - labels[:, 1]
    h = labels[:, 4] - labels[:, 2]
    aspect = np.maximum(w / (h + 1e-9), h / (w + 1e-9))
    return (w > min_size) & (h > min_size) & (w * h > min_area_ratio * area_before) & (aspect < 20)


def mosaic4(
    images: list[np.ndarray],
    labels: list[np.ndarray],
    imgsz: int,
    rng: np.random.Generator,
    pad_value: int = 114,
    min_size: float = 2.0,
    min_area_ratio: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Tile 4 images (each at most `imgsz` on a side) around a random centre of a 2*imgsz canvas.

    Image 0 ends at the centre from the top-left, 1 top-right, 2 bottom-left, 3 bottom-right; what
    falls outside the canvas is cut, and boxes cut below `min_area_ratio` of their area are dropped."""
    if len(images) != 4 or len(labels) != 4:
        raise ValueError(f"mosaic4 takes 4 images and 4 label arrays, got {len(images)} and {len(labels)}")
    s = imgsz
    xc, yc = (int(v) for v in rng.uniform(s / 2, 3 * s / 2, 2))
    canvas = np.full((2 * s, 2 * s, 3), pad_value, np.uint8)
    out = []
    for i, (img, lab) in enumerate(zip(images, labels, strict=True)):
        h, w = img.shape[:2]
        if i == 0:
            x1a, y1a, x2a, y2a = max(xc - w, 0), max(yc - h, 0), xc, yc
            x1b, y1b = w - (x2a - x1a), h - (y2a - y1a)
        elif i == 1:
            x1a, y1a, x2a, y2a = xc, max(yc - h, 0), min(xc + w, 2 * s), yc
            x1b, y1b = 0, h - (y2a - y1a)
        elif i == 2:
            x1a, y1a, x2a, y2a = max(xc - w, 0), yc, xc, min(2 * s, yc + h)
            x1b, y1b = w - (x2a - x1a), 0
        else:
            x1a, y1a, x2a, y2a = xc, yc, min(xc + w, 2 * s), min(2 * s, yc + h)
            x1b, y1b = 0, 0
        canvas[y1a:y2a, x1a:x2a] = img[y1b : y1b + (y2a - y1a), x1b : x1b + (x2a - x1a)]
        moved = lab.astype(np.float32).reshape(-1, 5).copy()
        moved[:, [1, 3]] += x1a - x1b
        moved[:, [2, 4]] += y1a - y1b
        # keep only what lies on this image's tile, then drop boxes mostly cut away
        clipped = moved.copy()
        clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(x1a, x2a)
        clipped[:, [2, 4]] = clipped[:, [2, 4]].clip(y1a, y2a)
        out.append(clipped[box_candidates(clipped, areas(moved), min_size, min_area_ratio)])
    return canvas, np.concatenate(out, 0) if out else np.zeros((0, 5), np.float32)


def affine_matrix(
    in_shape: tuple[int, int],
    out_size: int,
    rng: np.random.Generator,
    degrees: float = 0.0,
    translate: float = 0.1,
    scale: float = 0.5,
    shear: float = 0.0,
) -> tuple[np.ndarray, float]:
    """A random 2x3 affine map from an image of `in_shape` (h, w) to an `out_size` square: centre,
    rotate/scale, shear, then translate the centre to (0.5 ± translate) * out_size. Returns the
    matrix and the scale gain."""
    h, w = in_shape
    C = np.eye(3)
    C[0, 2], C[1, 2] = -w / 2, -h / 2
    gain = rng.uniform(1 - scale, 1 + scale)
    R = np.eye(3)
    R[:2] = cv2.getRotationMatrix2D((0, 0), rng.uniform(-degrees, degrees), gain)
    S = np.eye(3)
    S[0, 1] = math.tan(math.radians(rng.uniform(-shear, shear)))
    S[1, 0] = math.tan(math.radians(rng.uniform(-shear, shear)))
    T = np.eye(3)
    T[0, 2], T[1, 2] = rng.uniform(0.5 - translate, 0.5 + translate, 2) * out_size
    return (T @ S @ R @ C)[:2], float(gain)


def warp_labels(labels: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Labels with each box replaced by the axis-aligned box of its 4 transformed corners."""
    n = len(labels)
    if not n:
        return labels.reshape(0, 5).astype(np.float32)
    corners = labels[:, [1, 2, 3, 4, 1, 4, 3, 2]].reshape(n * 4, 2)
    pts = corners @ matrix[:, :2].T + matrix[:, 2]
    pts = pts.reshape(n, 4, 2)
    out = np.empty((n, 5), np.float32)
    out[:, 0] = labels[:, 0]
    out[:, 1:3] = pts.min(1)
    out[:, 3:5] = pts.max(1)
    return out


def random_affine(
    img: np.ndarray,
    labels: np.ndarray,
    out_size: int,
    rng: np.random.Generator,
    cfg: AugmentConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp `img` into an `out_size` square with a random affine map (see `affine_matrix`), carry the
    boxes along, clip them and drop those that became too small or were mostly cut off."""
    cfg = cfg or AugmentConfig()
    M, gain = affine_matrix(img.shape[:2], out_size, rng, cfg.degrees, cfg.translate, cfg.scale, cfg.shear)
    value = (cfg.pad_value,) * 3
    out = cv2.warpAffine(img, M, (out_size, out_size), flags=cv2.INTER_LINEAR, borderValue=value)
    labels = labels.astype(np.float32).reshape(-1, 5)
    moved = clip_labels(warp_labels(labels, M), out_size, out_size)
    keep = box_candidates(moved, areas(labels) * gain**2, cfg.min_size, cfg.min_area_ratio)
    return out, moved[keep]


def hsv_jitter(img: np.ndarray, rng: np.random.Generator, h: float, s: float, v: float) -> np.ndarray:
    """Random hue / saturation / value gains (1 ± h, s, v) on a BGR image (a new array)."""
    gains = rng.uniform(-1, 1, 3) * np.array([h, s, v]) + 1
    if not (h or s or v):
        return img.copy()
    hue, sat, val = cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV))
    x = np.arange(256, dtype=np.float32)
    lut_h = ((x * gains[0]) % 180).astype(np.uint8)
    lut_s = np.clip(x * gains[1], 0, 255).astype(np.uint8)
    lut_v = np.clip(x * gains[2], 0, 255).astype(np.uint8)
    merged = cv2.merge((cv2.LUT(hue, lut_h), cv2.LUT(sat, lut_s), cv2.LUT(val, lut_v)))
    return cv2.cvtColor(merged, cv2.COLOR_HSV2BGR)


def flip_lr(img: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right."""
    w = img.shape[1]
    out = labels.copy()
    out[:, 1], out[:, 3] = w - labels[:, 3], w - labels[:, 1]
    return np.ascontiguousarray(img[:, ::-1]), out


def flip_ud(img: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror top-bottom."""
    h = img.shape[0]
    out = labels.copy()
    out[:, 2], out[:, 4] = h - labels[:, 4], h - labels[:, 2]
    return np.ascontiguousarray(img[::-1]), out


def random_flips(
    img: np.ndarray, labels: np.ndarray, rng: np.random.Generator, lr: float = 0.5, ud: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Flip left-right with probability `lr` and top-bottom with probability `ud`."""
    do_lr, do_ud = rng.random(2) < (lr, ud)
    if do_lr:
        img, labels = flip_lr(img, labels)
    if do_ud:
        img, labels = flip_ud(img, labels)
    return img, labels
