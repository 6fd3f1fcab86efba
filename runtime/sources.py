"""Frame sources for `edgeyolo detect` and camera apps: `open_source(spec)` picks the right one.

with open_source("rtsp://camera/stream") as source:
    for frame in source:          # Frame(image=BGR uint8, index, source, timestamp, path)
        ...
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from urllib.parse import urlsplit

from edgeyolo.runtime.file_sources import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    ImageFilesSource,
    VideoFileSource,
    read_image,
)
from edgeyolo.runtime.live_source import LiveSource, SourceConnectError, SourceStats
from edgeyolo.runtime.source_base import Frame, Source, WarningHandler

__all__ = [
    "IMAGE_EXTENSIONS",
    "STREAM_SCHEMES",
    "VIDEO_EXTENSIONS",
    "Frame",
    "ImageFilesSource",
    "LiveSource",
    "Source",
    "SourceConnectError",
    "SourceStats",
    "VideoFileSource",
    "open_source",
    "read_image",
]

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https", "udp", "tcp")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def _images_in(paths: list[str]) -> list[str]:
    return sorted(p for p in paths if Path(p).suffix.lower() in IMAGE_EXTENSIONS and Path(p).is_file())


def open_source(
    spec: str | int | Path,
    *,
    stall_timeout: float = 3.0,
    max_backoff: float = 10.0,
    on_warning: WarningHandler | None = None,
    connect_timeout: float | None = None,
) -> Source:
    """Open a webcam index, a stream URL, a folder, a glob pattern, an image or a video file.

    Live sources (webcam, URL) reconnect after ``stall_timeout`` seconds without a new frame, backing off
    exponentially up to ``max_backoff`` seconds, forever by default; with ``connect_timeout`` a live source
    that has not delivered its first frame within that many seconds gives up (its ``state`` becomes
    "failed" and iterating raises `SourceConnectError`). Problems that do not stop the source (a corrupt
    image, a reconnect) go to ``on_warning`` (default: `warnings.warn`). Raises FileNotFoundError for a
    missing path and ValueError for anything else it cannot open.
    """
    live = {
        "stall_timeout": stall_timeout,
        "max_backoff": max_backoff,
        "on_warning": on_warning,
        "connect_timeout": connect_timeout,
    }
    if isinstance(spec, bool) or not isinstance(spec, (str, int, Path)):
        raise TypeError(f"source must be a path, a URL or a webcam index, got {spec!r}")
    if isinstance(spec, int):
        if spec < 0:
            raise ValueError(f"webcam index must be >= 0, got {spec}")
        return LiveSource(spec, **live)
    text = str(spec)
    if isinstance(spec, str):
        if text.strip().isdigit():
            return LiveSource(int(text), source=text, **live)
        if match := _SCHEME.match(text):
            if match.group(1).lower() not in STREAM_SCHEMES:
                raise ValueError(
                    f"unsupported URL scheme in {text!r}; streams must be one of "
                    + ", ".join(f"{s}://" for s in STREAM_SCHEMES)
                )
            url_path = urlsplit(text).path.lower()
            if match.group(1).lower() in ("http", "https") and Path(url_path).suffix in VIDEO_EXTENSIONS:
                return VideoFileSource(text, source=text, on_warning=on_warning)  # a file, not a stream
            return LiveSource(text, **live)
    path = Path(text).expanduser()
    if path.is_dir():
        images = _images_in([str(p) for p in path.iterdir()])
        if not images:
            raise ValueError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in folder {text}")
        return ImageFilesSource(images, source=text, on_warning=on_warning)
    if path.is_file() or path.is_char_device():
        suffix = path.suffix.lower()
        if suffix in IMAGE_EXTENSIONS:
            return ImageFilesSource([path], source=text, on_warning=on_warning)
        if suffix in VIDEO_EXTENSIONS:
            return VideoFileSource(path, source=text, on_warning=on_warning)
        if text.startswith("/dev/video"):
            return LiveSource(text, **live)
        raise ValueError(
            f"{text} is neither an image ({', '.join(sorted(IMAGE_EXTENSIONS))}) "
            f"nor a video ({', '.join(sorted(VIDEO_EXTENSIONS))})"
        )
    if any(c in text for c in "*?["):
        images = _images_in(glob.glob(str(path), recursive=True))
        if not images:
            raise FileNotFoundError(f"no images match the pattern {text}")
        return ImageFilesSource(images, source=text, on_warning=on_warning)
    raise FileNotFoundError(f"no such file, folder or pattern: {text}")
