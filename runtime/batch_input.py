"""What `Detector.detect_batch` accepts: any iterable of frames, checked before any work is done."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["frame_list"]

_EXPECTED = "an iterable of frames (HxWx3 uint8 BGR numpy arrays), e.g. a list"


def frame_list(frames: Any) -> list[np.ndarray]:
    """`frames` as a list of arrays. A bare HxW(x3) array is refused (iterating it would treat each row as
    an image); an NxHxWxC array is a stack of N frames. Generators, tuples, deques etc. are accepted."""
    if isinstance(frames, np.ndarray):
        if frames.ndim == 4:
            return list(frames)
        raise TypeError(
            f"detect_batch takes {_EXPECTED}; got one array of shape {frames.shape}: "
            "for a single frame call detect(frame) or pass [frame]"
        )
    if isinstance(frames, Mapping):
        raise TypeError(
            f"detect_batch takes {_EXPECTED}, got a {type(frames).__name__}; pass list(d.values())"
        )
    if isinstance(frames, (str, bytes)) or not isinstance(frames, Iterable):
        raise TypeError(f"detect_batch takes {_EXPECTED}, got {type(frames).__name__}")
    return list(frames)  # each frame is checked by letterbox (`as_bgr`), which names what it expected
