"""The YOLO dataset format users already have: a `data.yaml` and `images/` + `labels/*.txt` folders.

`labels/x.txt` holds one `class cx cy w h` line per object, normalised to the image size. Problems in
label files (bad column count, out-of-range values, unknown classes) and unreadable images are reported
once each with file and line, and the offending line or image is skipped; they never stop a run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeyolo.errors import EdgeYoloError
from edgeyolo.yaml_text import YamlTextError, safe_load

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
Report = Callable[[str], None]


class DatasetError(EdgeYoloError, ValueError):
    """A data.yaml or dataset folder that cannot be used at all."""


@dataclass
class DataSpec:
    """A parsed data.yaml: class names and the image folders (or list files) of each split."""

    names: list[str]
    splits: dict[str, list[Path]] = field(default_factory=dict)
    path: Path | None = None

    @property
    def nc(self) -> int:
        return len(self.names)


@dataclass
class Sample:
    """One image and its objects: `labels` float32 [n, 5] = class, cx, cy, w, h (normalised)."""

    image: Path
    labels: np.ndarray


def load_data_yaml(path: str | Path) -> DataSpec:
    """Read a data.yaml: `names` (list or {id: name}), `train`/`val`/`test` (folders, list files, or
    lists of them), optional `path` (root the others are relative to; default: the yaml's folder)."""
    path = Path(path)
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, YamlTextError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read dataset description {path}: {exc}") from None
    if not isinstance(data, dict) or "names" not in data:
        raise DatasetError(f"{path}: a data.yaml needs `names` and `train`/`val` entries")
    names = data["names"]
    if isinstance(names, dict):
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in names):
            raise DatasetError(f"{path}: `names` as a mapping must map class ids (integers) to names")
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list) or not names:
        raise DatasetError(f"{path}: `names` must be a non-empty list")
    for key in ("path", "train", "val", "test"):
        entries = data.get(key)
        entries = entries if isinstance(entries, list) else [entries]
        if not all(e is None or isinstance(e, str) for e in entries):
            raise DatasetError(f"{path}: `{key}` must be a folder or file path (or a list of them)")
    root = Path(data["path"]) if data.get("path") else Path()
    if not root.is_absolute():
        root = (path.parent / root).resolve()
    splits = {}
    for split in ("train", "val", "test"):
        entries = data.get(split)
        if entries:
            entries = entries if isinstance(entries, list) else [entries]
            splits[split] = [p if p.is_absolute() else root / p for p in map(Path, entries)]
    return DataSpec(names=[str(n) for n in names], splits=splits, path=path)


def image_files(entries: list[Path]) -> list[Path]:
    """Images listed by folders (searched recursively) or by .txt list files, sorted, de-duplicated."""
    found: list[Path] = []
    for entry in entries:
        if entry.is_dir():
            found += [p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
        elif entry.is_file() and entry.suffix == ".txt":
            base = entry.parent
            for line in entry.read_text().splitlines():
                if line.strip():
                    p = Path(line.strip())
                    found.append(p if p.is_absolute() else base / p)
        elif entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES:
            found.append(entry)
        else:
            raise DatasetError(f"dataset entry {entry} is not a folder, an image list or an image")
    return sorted(set(found))


def label_path(image: Path) -> Path:
    """`.../images/x.jpg` → `.../labels/x.txt` (the last `images` folder in the path is swapped)."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def read_labels(path: Path, nc: int, report: Report | None = None) -> np.ndarray:
    """Parse one label file. Bad lines are reported (file:line: reason) and skipped; a missing file
    means an image without objects."""
    report = report or _warn
    if not path.exists():
        return np.zeros((0, 5), np.float32)
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        problem = _check_row(fields, nc)
        if problem:
            report(f"{path}:{n}: {problem}; line skipped")
            continue
        rows.append([float(v) for v in fields])
    return np.array(rows, np.float32).reshape(-1, 5)


def _check_row(fields: list[str], nc: int) -> str | None:
    if len(fields) != 5:
        return f"expected 5 columns (class cx cy w h), got {len(fields)}"
    try:
        cls = float(fields[0])
        vals = [float(v) for v in fields[1:]]
    except ValueError:
        return "non-numeric value"
    if not np.isfinite(cls) or cls != int(cls) or not 0 <= cls < nc:
        return f"class {fields[0]} is not an id in [0, {nc - 1}]"
    if not all(np.isfinite(vals)) or not all(0.0 <= v <= 1.0 for v in vals):
        return "coordinates must be normalised to [0, 1]"
    if vals[2] <= 0 or vals[3] <= 0:
        return "box has zero width or height"
    return None


def load_split(spec: DataSpec, split: str, report: Report | None = None) -> list[Sample]:
    """Every image of a split with its labels."""
    if split not in spec.splits:
        raise DatasetError(f"{spec.path}: no `{split}` split")
    images = image_files(spec.splits[split])
    if not images:
        raise DatasetError(f"{spec.path}: the `{split}` split has no images")
    return [Sample(img, read_labels(label_path(img), spec.nc, report)) for img in images]


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)
