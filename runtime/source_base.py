"""`Frame` and `Source`: what every frame source (images, video files, live streams) hands out."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

import cv2
import numpy as np

__all__ = ["Frame", "Source", "WarningHandler", "default_warning", "to_bgr"]

WarningHandler = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured image: ``image`` uint8 HxWx3 BGR, ``index`` (running count from this source),
    ``source`` (the spec it came from), ``timestamp`` (`time.monotonic()` at capture) and ``path``
    (the file it was read from, None for live streams)."""

    image: np.ndarray
    index: int
    source: str
    timestamp: float
    path: str | None = None


def default_warning(message: str) -> None:
    """Report a source problem with `warnings.warn` (a RuntimeWarning)."""
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Make a decoded image uint8 HxWx3 BGR: gray gains channels, alpha is dropped, 16-bit is scaled."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"cannot convert a {image.dtype} image to uint8 BGR")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"cannot convert an image of shape {image.shape} to HxWx3 BGR")


class Source(ABC):
    """An iterable of `Frame` and a context manager. ``total`` is the known frame count (None when live)."""

    source: str
    is_live: bool = False
    is_video: bool = False  # frames of one video (or a live stream): saved as a video, not images
    total: int | None = None

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]: ...

    @abstractmethod
    def close(self) -> None:
        """Release the underlying files, captures and threads. Safe to call twice."""

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r}, total={self.total})"
