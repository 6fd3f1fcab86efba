"""MOTChallenge sequences: ``SEQ/seqinfo.ini``, ``SEQ/img1/000001.png``…, ``SEQ/gt/gt.txt``.

A ground-truth line is ``frame,id,x,y,w,h,1,1,visibility,class`` (1-based frames, pixel boxes with
their top-left corner, the MOT17 "consider" flag and class 1 so TrackEval scores every object); the
10th column, beyond MOT17's nine, is the shape class id. A result line is
``frame,id,x,y,w,h,confidence,-1,-1,-1`` (MOTChallenge tracker output).
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeyolo.data.formats import DatasetError


@dataclass
class MotRows:
    """The rows of one MOT file, one box per row: ``frame`` (1-based) and ``track_id`` int64 [K],
    ``xyxy`` float64 [K, 4] in pixels, ``confidence`` and ``visibility`` float64 [K], ``class_id`` int64
    [K] (-1 where the file does not say)."""

    frame: np.ndarray
    track_id: np.ndarray
    xyxy: np.ndarray
    confidence: np.ndarray
    visibility: np.ndarray
    class_id: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    def select(self, rows: np.ndarray) -> MotRows:
        return MotRows(*(getattr(self, k)[rows] for k in self.__dataclass_fields__))

    def at(self, frame: int) -> MotRows:
        """The rows of one frame."""
        return self.select(self.frame == frame)

    @classmethod
    def empty(cls) -> MotRows:
        i, f = np.empty(0, np.int64), np.empty(0, np.float64)
        return cls(i, i, np.empty((0, 4)), f, f, i)

    @classmethod
    def concat(cls, parts: list[MotRows]) -> MotRows:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in cls.__dataclass_fields__))


def read_mot(path: str | Path) -> MotRows:
    """Read a MOT file (ground truth or results; commas, at least 6 columns). Bad lines raise one
    `DatasetError` naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read MOT file {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.replace(" ", "").rstrip(",").split(",")
        try:
            row = [float(p) for p in parts]
        except ValueError:
            raise DatasetError(f"{path}:{number}: not a MOT line (numbers separated by commas)") from None
        if len(row) < 6 or not np.isfinite(row).all():
            raise DatasetError(f"{path}:{number}: a MOT line has at least 6 finite numbers, got {line!r}")
        if row[0] < 1 or row[0] != int(row[0]) or row[1] != int(row[1]) or row[4] < 0 or row[5] < 0:
            raise DatasetError(f"{path}:{number}: frame (≥ 1) and id must be integers, w and h ≥ 0")
        values.append(row[:10] + [-1.0] * (10 - len(row[:10])))
    if not values:
        return MotRows.empty()
    a = np.array(values, np.float64)
    xyxy = np.concatenate([a[:, 2:4], a[:, 2:4] + a[:, 4:6]], 1)
    has_visibility = a[:, 8] >= 0
    return MotRows(
        a[:, 0].astype(np.int64),
        a[:, 1].astype(np.int64),
        xyxy,
        a[:, 6],
        np.where(has_visibility, a[:, 8], 1.0),
        a[:, 9].astype(np.int64),
    )


def format_gt(rows: MotRows) -> str:
    """Ground-truth lines (MOT17 layout + the class column)."""
    return "".join(
        f"{f},{i},{_xywh(b)},1,1,{v:.3f},{c}\n"
        for f, i, b, v, c in zip(
            rows.frame.tolist(),
            rows.track_id.tolist(),
            rows.xyxy,
            rows.visibility.tolist(),
            rows.class_id.tolist(),
            strict=True,
        )
    )


def format_results(rows: MotRows) -> str:
    """Tracker result lines (MOTChallenge submission layout)."""
    return "".join(
        f"{f},{i},{_xywh(b)},{s:.4f},-1,-1,-1\n"
        for f, i, b, s in zip(
            rows.frame.tolist(), rows.track_id.tolist(), rows.xyxy, rows.confidence.tolist(), strict=True
        )
    )


def _xywh(box: np.ndarray) -> str:
    x1, y1, x2, y2 = (float(v) for v in box)
    return f"{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f}"


@dataclass(frozen=True)
class SequenceInfo:
    """``seqinfo.ini`` of one sequence."""

    name: str
    frames: int
    frame_rate: float
    width: int
    height: int
    image_dir: str = "img1"
    image_ext: str = ".png"

    def format(self) -> str:
        return (
            "[Sequence]\n"
            f"name={self.name}\nimDir={self.image_dir}\nframeRate={self.frame_rate:g}\n"
            f"seqLength={self.frames}\nimWidth={self.width}\nimHeight={self.height}\nimExt={self.image_ext}\n"
        )


def read_sequence_info(folder: str | Path) -> SequenceInfo:
    """Parse ``folder/seqinfo.ini``; missing or bad fields raise `DatasetError`."""
    path = Path(folder) / "seqinfo.ini"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
        s = parser["Sequence"]
        info = SequenceInfo(
            s.get("name", Path(folder).name),
            int(s["seqLength"]),
            float(s.get("frameRate", "30")),
            int(s["imWidth"]),
            int(s["imHeight"]),
            s.get("imDir", "img1"),
            s.get("imExt", ".jpg"),
        )
    except FileNotFoundError:
        raise DatasetError(f"{folder} is not a MOTChallenge sequence (no seqinfo.ini)") from None
    except (OSError, UnicodeDecodeError, configparser.Error, KeyError, ValueError) as exc:
        raise DatasetError(f"{path}: not a usable seqinfo.ini ({exc})") from exc
    if info.frames < 1 or info.width < 1 or info.height < 1 or not info.frame_rate > 0:
        raise DatasetError(f"{path}: seqLength, imWidth, imHeight and frameRate must be positive")
    return info


def find_sequences(root: str | Path) -> list[Path]:
    """A sequence folder itself, or the sequence folders directly under ``root`` (sorted)."""
    root = Path(root)
    if (root / "seqinfo.ini").is_file():
        return [root]
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder of MOTChallenge sequences")
    found = sorted(p for p in root.iterdir() if (p / "seqinfo.ini").is_file())
    if not found:
        raise DatasetError(f"{root} holds no MOTChallenge sequence (folders with a seqinfo.ini)")
    return found
