"""Letterboxing: resize a BGR frame keeping its aspect ratio, pad it to the model's input shape.

The geometry (ratio, padding) is returned as a `LetterboxInfo` so boxes found in the letterboxed
image can be mapped back to the original frame exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["LetterboxInfo", "as_bgr", "letterbox"]

_EXPECTED = "a uint8 image of shape HxW (gray), HxWx1 (gray), HxWx3 (BGR) or HxWx4 (BGRA)"


@dataclass(frozen=True, slots=True)
class LetterboxInfo:
    """Geometry of one letterbox operation: ``letterboxed = original * ratio + pad``.

    ``pad`` is the (left, top) border in pixels actually added. One instance describes every frame
    of a batch that has the same original shape, so it can be computed once and reused.
    """

    ratio: float
    pad: tuple[int, int]  # (left, top)
    orig_shape: tuple[int, int]  # (h, w)
    new_shape: tuple[int, int]  # (h, w) of the letterboxed image

    def to_original(self, xyxy: np.ndarray) -> np.ndarray:
        """Map boxes [N, 4] (x1, y1, x2, y2) in letterboxed pixels to original pixels.

        The result is float32, clipped to [0, w] x [0, h] of the original image; the input is not modified.
        """
        boxes = _as_boxes(xyxy)
        left, top = self.pad
        out = (boxes - np.array([left, top, left, top], dtype=np.float32)) / np.float32(self.ratio)
        h, w = self.orig_shape
        np.clip(out[:, 0::2], 0, w, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, h, out=out[:, 1::2])
        return out

    def to_letterbox(self, xyxy: np.ndarray) -> np.ndarray:
        """Map boxes [N, 4] in original pixels to letterboxed pixels (float32, not clipped)."""
        boxes = _as_boxes(xyxy)
        left, top = self.pad
        return boxes * np.float32(self.ratio) + np.array([left, top, left, top], dtype=np.float32)


def _as_boxes(xyxy: np.ndarray) -> np.ndarray:
    boxes = np.asarray(xyxy, dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"expected boxes of shape [N, 4] (x1, y1, x2, y2), got shape {boxes.shape}")
    return boxes


def as_bgr(img: np.ndarray) -> np.ndarray:
    """Validate a frame and return it as a contiguous HxWx3 uint8 BGR array.

    Grayscale (HxW or HxWx1) is converted to BGR by repeating the channel; BGRA (HxWx4) is converted
    with ``cv2.COLOR_BGRA2BGR`` (alpha dropped). Anything else raises with the expected format.
    """
    if img is None:
        raise TypeError(f"expected {_EXPECTED}, got None (did cv2.imread fail to read the file?)")
    if not isinstance(img, np.ndarray):
        raise TypeError(f"expected {_EXPECTED} as a numpy.ndarray, got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise TypeError(f"expected dtype uint8 (only uint8 images are accepted), got {img.dtype}")
    if img.ndim not in (2, 3):
        raise ValueError(f"expected {_EXPECTED}, got an array of shape {img.shape}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"expected a non-empty image, got shape {img.shape}")
    channels = 1 if img.ndim == 2 else img.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"expected 1, 3 (BGR) or 4 (BGRA) channels, got {channels} (shape {img.shape})")
    img = np.ascontiguousarray(img)
    if channels == 1:
        return cv2.cvtColor(img.reshape(img.shape[:2]), cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _target_shape(new_shape: int | tuple[int, int]) -> tuple[int, int]:
    if _is_int(new_shape):
        shape = (int(new_shape), int(new_shape))  # type: ignore[arg-type]
    elif isinstance(new_shape, (tuple, list)) and len(new_shape) == 2 and all(map(_is_int, new_shape)):
        shape = (int(new_shape[0]), int(new_shape[1]))
    else:
        raise TypeError(f"new_shape must be an int or an (h, w) pair of ints, got {new_shape!r}")
    if min(shape) <= 0:
        raise ValueError(f"new_shape must be positive, got {shape}")
    return shape


def letterbox(
    img: np.ndarray,
    new_shape: int | tuple[int, int],
    stride: int = 32,
    auto: bool = False,
    pad_value: int = 114,
) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize ``img`` keeping its aspect ratio and pad it (centred) to ``new_shape`` = int or (h, w).

    Same rounding as YOLOv5. With ``auto=False`` the output is always exactly ``new_shape``; with
    ``auto=True`` it is only padded to the next multiple of ``stride`` (minimum rectangle), so its
    shape is *not* ``new_shape`` in general. See `as_bgr` for the accepted inputs. Returns the
    letterboxed HxWx3 uint8 BGR image (a new array) and its `LetterboxInfo`.
    """
    img = as_bgr(img)
    new_h, new_w = _target_shape(new_shape)
    if not _is_int(stride) or stride <= 0:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    if not _is_int(pad_value) or not 0 <= pad_value <= 255:
        raise ValueError(f"pad_value must be an int in [0, 255], got {pad_value!r}")

    h, w = img.shape[:2]
    r = min(new_h / h, new_w / w)
    # round() as in YOLOv5; clamp so rounding never exceeds the target or collapses to 0 pixels.
    unpad_w = min(max(round(w * r), 1), new_w)
    unpad_h = min(max(round(h * r), 1), new_h)
    dw, dh = new_w - unpad_w, new_h - unpad_h
    if auto:
        dw, dh = dw % stride, dh % stride
    dw_half, dh_half = dw / 2, dh / 2

    if (unpad_w, unpad_h) != (w, h):
        img = cv2.resize(img, (unpad_w, unpad_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh_half - 0.1), round(dh_half + 0.1)
    left, right = round(dw_half - 0.1), round(dw_half + 0.1)
    value = (int(pad_value),) * 3
    out = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)

    expected = (unpad_h + dh, unpad_w + dw)
    assert out.shape[:2] == expected, f"letterbox produced {out.shape[:2]}, expected {expected}"
    if not auto:
        assert out.shape[:2] == (new_h, new_w), f"letterbox produced {out.shape[:2]}, not {(new_h, new_w)}"
    info = LetterboxInfo(ratio=r, pad=(left, top), orig_shape=(h, w), new_shape=out.shape[:2])
    return out, info
