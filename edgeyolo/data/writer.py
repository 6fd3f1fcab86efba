"""Writing YOLO-format datasets: each split is built in a hidden folder and moved into place, and the
data.yaml is written last (atomically), so a failed run never leaves a data.yaml describing half a split.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import yaml

from edgeyolo.atomic import atomic_output
from edgeyolo.data.formats import DatasetError

SPLITS = ("train", "val", "test")


def xyxy_to_yolo(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel boxes [n, 4] (x1, y1, x2, y2) → normalised [n, 4] (cx, cy, w, h)."""
    b = np.asarray(xyxy, np.float64).reshape(-1, 4)
    scale = np.array([width, height, width, height], np.float64)
    cxcy = (b[:, :2] + b[:, 2:]) / 2
    wh = b[:, 2:] - b[:, :2]
    return (np.concatenate([cxcy, wh], 1) / scale).astype(np.float32)


def format_labels(classes: np.ndarray, boxes: np.ndarray) -> str:
    """`class cx cy w h` lines (6 decimals) for integer classes [n] and normalised boxes [n, 4]."""
    lines = [
        f"{int(c)} {b[0]:.6f} {b[1]:.6f} {b[2]:.6f} {b[3]:.6f}"
        for c, b in zip(np.asarray(classes).reshape(-1), np.asarray(boxes).reshape(-1, 4), strict=True)
    ]
    return "".join(line + "\n" for line in lines)


def link_or_copy(src: Path, dst: Path, link: bool = True) -> None:
    """Hard-link `src` to `dst` when allowed and possible (same filesystem), otherwise copy it."""
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copy2(src, dst)


def write_png(path: Path, img: np.ndarray) -> None:
    """Write a PNG with fixed, fast compression settings (same pixels → same bytes)."""
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    if not cv2.imwrite(str(path), img, params):
        raise DatasetError(f"cannot write image {path}")


class SplitWriter:
    """Collects one split's images and labels in a hidden folder under `root`; `commit()` moves them to
    `root/images/<split>` and `root/labels/<split>`. Used as a context manager, an exception discards
    everything written so far."""

    def __init__(self, root: str | Path, split: str, overwrite: bool = False) -> None:
        self.root = Path(root)
        self.split = split
        self.overwrite = overwrite
        self._names: set[str] = set()
        for kind in ("images", "labels"):
            final = self.root / kind / split
            if final.exists() and not overwrite:
                raise DatasetError(f"{final} already exists; pass --overwrite to replace the `{split}` split")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".edgeyolo-{split}-", suffix=".tmp", dir=self.root))
        except OSError as exc:
            raise DatasetError(f"cannot write to {self.root}: {exc.strerror or exc}") from exc
        (self.tmp / "images").mkdir()
        (self.tmp / "labels").mkdir()

    def unique_name(self, name: str, tag: str) -> str:
        """`name`, or `stem_tag.suffix` when an image with that stem (hence label file) is already in
        the split."""
        path = Path(name)
        if path.stem in self._names:
            path = Path(f"{path.stem}_{tag}{path.suffix}")
        self._names.add(path.stem)
        return path.name

    def add_file(
        self, src: Path, name: str, classes: np.ndarray, boxes: np.ndarray, link: bool = True
    ) -> None:
        """Add an existing image file (hard-linked or copied) with its labels."""
        link_or_copy(src, self.tmp / "images" / name, link)
        self._write_labels(name, classes, boxes)

    def add_array(self, img: np.ndarray, name: str, classes: np.ndarray, boxes: np.ndarray) -> None:
        """Add a BGR image array (written as PNG; `name` must end in .png) with its labels."""
        write_png(self.tmp / "images" / name, img)
        self._write_labels(name, classes, boxes)

    def _write_labels(self, name: str, classes: np.ndarray, boxes: np.ndarray) -> None:
        path = (self.tmp / "labels" / name).with_suffix(".txt")
        path.write_text(format_labels(classes, boxes), encoding="utf-8")

    def commit(self) -> None:
        """Move the split into place (replacing an existing one only with `overwrite`)."""
        for kind in ("images", "labels"):
            final = self.root / kind / self.split
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                old = self.tmp / f"old-{kind}"
                os.replace(final, old)
            os.replace(self.tmp / kind, final)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def discard(self) -> None:
        """Remove everything written so far."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> SplitWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def check_destination(root: str | Path, names: list[str], splits: list[str], overwrite: bool) -> None:
    """Fail before any work when `root` cannot take these splits: a split already there (without
    `overwrite`) or a data.yaml with other class names."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root} is not a directory")
    for split in splits:
        for kind in ("images", "labels"):
            if (root / kind / split).exists() and not overwrite:
                raise DatasetError(f"{root / kind / split} already exists; pass --overwrite to replace it")
    old = _existing_names(root / "data.yaml")
    if old is not None and old != list(names):
        raise DatasetError(
            f"{root / 'data.yaml'} already describes a dataset with classes {old}, not {list(names)}; "
            "write into a new folder"
        )


def _existing_names(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"cannot read the existing {path}: {exc}") from exc
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    return None if names is None else [str(n) for n in names]


def write_data_yaml(root: str | Path, names: list[str], splits: list[str]) -> Path:
    """Write (or extend) `root/data.yaml` atomically: `names`, `nc` and `split: images/<split>` entries.

    An existing data.yaml keeps its other splits but must have the same class names."""
    root = Path(root)
    path = root / "data.yaml"
    check_destination(root, names, [], overwrite=True)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    data = data if isinstance(data, dict) else {}
    data = {k: v for k, v in data.items() if k not in ("names", "nc")}
    for split in splits:
        data[split] = f"images/{split}"
    out = {"names": list(names), "nc": len(names)}
    out.update({k: data[k] for k in SPLITS if k in data})
    out.update({k: v for k, v in data.items() if k not in out})
    with atomic_output(path) as tmp:
        tmp.write_text(yaml.safe_dump(out, sort_keys=False), encoding="utf-8")
        tmp.chmod(0o666 & ~current_umask())  # mkstemp makes 0600 files; a dataset is meant to be shared
    return path


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
