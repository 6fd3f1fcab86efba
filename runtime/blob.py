"""The model input tensor from a letterboxed BGR image: NCHW, RGB, scaled to [0, 1]."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["to_blob"]

_SCALE = np.float32(1 / 255.0)


def to_blob(img: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """A 1x3xHxW `dtype` tensor of an HxWx3 uint8 BGR image, RGB order, values `img / 255` computed in
    float32 (the same values as ``cv2.dnn.blobFromImage(img, 1 / 255, swapRB=True)``).

    One channel at a time on the calling thread: cv2's parallel blob routine is several times slower
    when another library's thread pool (OpenVINO's, onnxruntime's) shares the cores.
    """
    h, w = img.shape[:2]
    out = np.empty((1, 3, h, w), np.float32)
    for k, channel in enumerate(reversed(cv2.split(img))):
        out[0, k] = channel
    out *= _SCALE
    return out if np.dtype(dtype) == np.float32 else out.astype(dtype)
