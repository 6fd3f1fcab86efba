"""Sources that read files: a list of images (folder, glob or one file) and a video file."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from edgeyolo.runtime.source_base import Frame, Source, WarningHandler, default_warning, to_bgr

__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "ImageFilesSource", "VideoFileSource", "read_image"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}
)


def read_image(path: str | Path) -> np.ndarray | None:
    """Read an image as uint8 HxWx3 BGR, or None when it cannot be read or decoded.

    Decodes the file's bytes with `cv2.imdecode`, so non-ASCII paths work on every platform.
    """
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return None if image is None else to_bgr(image)


class ImageFilesSource(Source):
    """Images read one by one, in the given order. Unreadable ones are reported once and skipped.

    ``total`` counts the image files, so it is an upper bound on the frames when some cannot be read.
    """

    def __init__(self, paths: Sequence[str | Path], *, source: str, on_warning: WarningHandler | None = None):
        self.paths = [str(p) for p in paths]
        self.source = source
        self.total = len(self.paths)
        self._warn = on_warning or default_warning
        self._reported: set[str] = set()
        self._closed = False

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        for path in self.paths:
            if self._closed:
                return
            image = read_image(path)
            if image is None:
                if path not in self._reported:
                    self._reported.add(path)
                    self._warn(f"skipping {path}: not a readable image")
                continue
            yield Frame(image, index, self.source, time.monotonic(), path)
            index += 1

    def close(self) -> None:
        """Stop any iteration in progress."""
        self._closed = True


class VideoFileSource(Source):
    """The frames of a video file, in order. The end of the file ends the iteration cleanly."""

    is_video = True

    def __init__(self, path: str | Path, *, source: str, on_warning: WarningHandler | None = None):
        self.path = str(path)
        self.source = source
        self._warn = on_warning or default_warning
        self._cap: cv2.VideoCapture | None = self._open()
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.total = count if count > 0 else None
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or None
        self._closed = False

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(self.path)
        if not cap.isOpened():
            cap.release()
            raise ValueError(f"cannot open video {self.path}: OpenCV found no backend able to decode it")
        return cap

    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            return
        cap, self._cap = (self._cap or self._open()), None
        index = 0
        try:
            while not self._closed:
                ok, image = cap.read()
                if not ok or image is None:
                    break
                yield Frame(to_bgr(image), index, self.source, time.monotonic(), self.path)
                index += 1
        finally:
            cap.release()
        # FFmpeg's frame count can be an estimate (duration x fps), so allow a little slack.
        if not self._closed and self.total and index < self.total - max(2, self.total // 100):
            self._warn(f"{self.path}: video stopped after {index} of {self.total} frames (read failure)")

    def close(self) -> None:
        """Release the capture; an iteration in progress stops at its next frame."""
        self._closed = True
        if self._cap is not None:
            self._cap.release()
            self._cap = None
