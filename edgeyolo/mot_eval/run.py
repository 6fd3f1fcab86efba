"""Track MOTChallenge sequences and score them: with a detector (the whole camera pipeline) or on noisy
ground truth (the tracker alone, against its ceiling)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgeyolo.atomic import atomic_output
from edgeyolo.data.formats import DatasetError
from edgeyolo.data.mot import (
    MotRows,
    SequenceInfo,
    find_sequences,
    format_results,
    read_mot,
    read_sequence_info,
)
from edgeyolo.mot_eval.metrics import SequenceMetrics, combine, evaluate
from edgeyolo.mot_eval.noise import Noise, noisy_detections
from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.tracking import Tracker


@dataclass
class Sequence:
    folder: Path
    info: SequenceInfo
    gt: MotRows

    def frame_paths(self) -> list[Path]:
        return [self.folder / self.info.image_dir / f"{f:06d}{self.info.image_ext}" for f in self.frames()]

    def frames(self) -> range:
        return range(1, self.info.frames + 1)


def load_sequences(root: str | Path) -> list[Sequence]:
    """Every sequence under ``root`` (or ``root`` itself) with its ground truth."""
    out = []
    for folder in find_sequences(root):
        gt_path = folder / "gt" / "gt.txt"
        if not gt_path.is_file():
            raise DatasetError(f"{folder} has no ground truth (gt/gt.txt)")
        gt = read_mot(gt_path)
        out.append(Sequence(folder, read_sequence_info(folder), gt.select(gt.confidence != 0)))
    return out


def track_rows(frames: Iterable[tuple[int, Detections]], tracker: Tracker) -> MotRows:
    """Run ``tracker`` over (frame number, detections) and collect its identities as MOT rows."""
    parts = []
    for f, dets in frames:
        out = tracker.update(dets)
        n = len(out)
        parts.append(
            MotRows(
                np.full(n, f, np.int64),
                out.tracker_id + 1,  # MOTChallenge identities start at 1
                out.xyxy.astype(np.float64),
                out.confidence.astype(np.float64),
                np.ones(n),
                out.class_id,
            )
        )
    return MotRows.concat(parts)


def detector_frames(seq: Sequence, detector: Any) -> Iterable[tuple[int, Detections]]:
    for f, path in zip(seq.frames(), seq.frame_paths(), strict=True):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"cannot read frame {path}")
        yield f, detector.detect(image)


def noisy_frames(dets: MotRows, frames: range) -> Iterable[tuple[int, Detections]]:
    for f in frames:
        d = dets.at(f)
        yield f, Detections(d.xyxy.astype(np.float32), d.confidence.astype(np.float32), d.class_id)


@dataclass
class Report:
    """Per-sequence and combined metrics; with noise, also the ceiling's."""

    sequences: list[SequenceMetrics]
    combined: SequenceMetrics
    ceiling: SequenceMetrics | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "settings": self.settings,
            "sequences": {s.name: s.summary() for s in self.sequences},
            "combined": self.combined.summary(),
        }
        if self.ceiling is not None:
            c = self.ceiling.summary()
            out["ceiling"] = c
            out["idf1_of_ceiling"] = self.combined.summary()["IDF1"] / c["IDF1"] if c["IDF1"] else 0.0
        return out


def evaluate_tracking(
    root: str | Path,
    make_tracker: Callable[[SequenceInfo], Tracker],
    detector: Any = None,
    noise: Noise | None = None,
    seed: int = 0,
    save: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Track every sequence under ``root``: frames through ``detector``, or (``noise``) noisy ground
    truth; score with TrackEval's metrics. ``save`` writes ``<save>/<sequence>.txt`` result files."""
    if (detector is None) == (noise is None):
        raise ValueError("give a detector or a noise model")
    results, ceilings = [], []
    for index, seq in enumerate(load_sequences(root)):
        if progress:
            progress(seq.info.name)
        tracker = make_tracker(seq.info)
        if noise is None:
            rows = track_rows(detector_frames(seq, detector), tracker)
        else:
            rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
            dets = noisy_detections(seq.gt, seq.info.frames, (seq.info.width, seq.info.height), noise, rng)
            rows = track_rows(noisy_frames(dets, seq.frames()), tracker)
            ceilings.append(evaluate(seq.info.name, seq.gt, dets, seq.info.frames))
        if save is not None:
            _save(Path(save) / f"{seq.info.name}.txt", rows)
        results.append(evaluate(seq.info.name, seq.gt, rows, seq.info.frames))
    return Report(results, combine(results), combine(ceilings, "CEILING") if ceilings else None)


def _save(path: Path, rows: MotRows) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(format_results(rows), encoding="utf-8")
