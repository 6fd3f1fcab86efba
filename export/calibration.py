"""Calibration images for every INT8 path: chosen from a folder or a data.yaml, preprocessed by exactly the
runtime's `Detector.preprocess`, and identified by a cache key.

The key covers the ONNX file's sha256, the image list (path, size, modification time), the preprocessing
(input size, input format, letterbox padding) and the method, so any change recomputes.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgeyolo.data.formats import DatasetError, image_files, load_data_yaml
from edgeyolo.errors import EdgeYoloError
from edgeyolo.runtime.contract import Contract

DEFAULT_SIZE = 300
WARN_BELOW = 100  # fewer images than this give noisy activation ranges
MIN_IMAGES = 20  # fewer than this is refused outright
_KEY_VERSION = 1


class CalibrationError(EdgeYoloError):
    """Calibration data is missing, too small or unreadable."""


@dataclass(frozen=True)
class CalibrationSet:
    """The images an INT8 calibration runs on, in a fixed order."""

    images: tuple[Path, ...]
    source: str

    def __len__(self) -> int:
        return len(self.images)

    def key(self, onnx_sha256: str, contract: Contract, method: str, **extra: Any) -> str:
        """A hex key that changes whenever the model, the images, the preprocessing or the method do."""
        record = {
            "version": _KEY_VERSION,
            "onnx_sha256": onnx_sha256,
            "images": [_fingerprint(p) for p in self.images],
            "preprocessing": {
                "imgsz": list(contract.imgsz),
                "input": contract.input,
                "pad_value": contract.letterbox.pad_value,
                "centered": contract.letterbox.centered,
                "stride": max(contract.strides),
            },
            "method": method,
            "extra": extra,
        }
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()

    def tensors(self, preprocess: Callable[[np.ndarray], np.ndarray]) -> Iterator[np.ndarray]:
        """Each image as a model input tensor (batch of one). An unreadable image is an error."""
        for path in self.images:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                raise CalibrationError(f"cannot read calibration image {path} (missing or corrupt)")
            yield preprocess(frame)


def _fingerprint(path: Path) -> list[Any]:
    try:
        st = path.stat()
    except OSError as exc:
        raise CalibrationError(f"calibration image {path} is not readable: {exc.strerror}") from exc
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def find_calibration_images(
    source: str | Path | None, size: int = DEFAULT_SIZE, report: Callable[[str], None] | None = None
) -> CalibrationSet:
    """Up to `size` images from a folder (recursively) or a data.yaml (its train split, else val).

    When more are available an evenly spaced subset of the sorted list is taken, so the choice is
    deterministic. Fewer than `MIN_IMAGES` is refused; fewer than `WARN_BELOW` is warned about.
    """
    report = report or _warn
    if source is None:
        raise CalibrationError(
            "INT8 needs calibration images: pass --data with a folder of images or a data.yaml"
        )
    if size < MIN_IMAGES:
        raise CalibrationError(f"--calib-size must be at least {MIN_IMAGES}, got {size}")
    path = Path(source)
    if not path.exists():
        raise CalibrationError(f"calibration data {path} does not exist")
    try:
        if path.is_dir():
            found = sorted(image_files([path]))
        elif path.suffix.lower() in (".yaml", ".yml"):
            spec = load_data_yaml(path)
            split = "train" if spec.splits.get("train") else "val"
            if split not in spec.splits:
                raise CalibrationError(f"{path} has neither a train nor a val split")
            found = sorted(image_files(spec.splits[split]))
        else:
            raise CalibrationError(f"calibration data {path} must be a folder of images or a data.yaml")
    except DatasetError as exc:
        raise CalibrationError(str(exc)) from exc
    if len(found) < MIN_IMAGES:
        raise CalibrationError(
            f"{path} holds {len(found)} images; INT8 calibration needs at least {MIN_IMAGES} "
            f"(about {DEFAULT_SIZE} representative images are recommended)"
        )
    if len(found) > size:
        picks = np.linspace(0, len(found) - 1, size).round().astype(int)
        found = [found[i] for i in picks]
    if len(found) < WARN_BELOW:
        report(
            f"calibrating on only {len(found)} images; {WARN_BELOW}+ representative images give more "
            "reliable INT8 ranges"
        )
    return CalibrationSet(tuple(found), str(path))


def default_cache_dir() -> Path:
    """Where calibration results live: `calibration/` in edgeyolo's cache folder."""
    from edgeyolo.defaults import cache_root

    return cache_root() / "calibration"


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)
