"""The measurement loop: several models loaded in one process, warmed up, then timed round-robin so the
machine's drift (clocks, thermals, neighbours) touches all of them alike.

Each timed call runs the exact `Detector` path, split into its stages:
letterbox (+ blob) → backend.infer (with the backend's own synchronisation) → decode + NMS + scale-back
(→ `Tracker.update`, with ``track``); "end to end" is the whole call. Ratios compare each model with
the first, round by round.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeyolo.bench.memory import rss_mb
from edgeyolo.bench.stats import Summary, fps, paired_ratio, summarize
from edgeyolo.errors import EdgeYoloError
from edgeyolo.runtime.backends import BackendError, default_backend
from edgeyolo.runtime.detector import Detector, StageTimes

__all__ = [
    "STAGES",
    "BenchError",
    "BenchModel",
    "BenchOptions",
    "ModelResult",
    "StagedRunner",
    "run_benchmark",
]

STAGES = ("letterbox", "inference", "postprocess", "end_to_end")
TRACK_STAGES = ("letterbox", "inference", "postprocess", "track", "end_to_end")


def stages_of(track: str | None) -> tuple[str, ...]:
    """The stages measured: with a tracking method, `track` comes after postprocess."""
    return TRACK_STAGES if track else STAGES


class BenchError(EdgeYoloError, ValueError):
    """A benchmark that cannot run as asked (bad options, a model that cannot load at the asked size)."""


@dataclass
class BenchModel:
    """One thing to measure: a model file on a backend and device, with backend options."""

    path: Path
    backend: str = "auto"
    device: str = "cpu"
    options: dict[str, Any] = field(default_factory=dict)
    label: str | None = None  # e.g. "ONNX FP32 (OpenVINO)"; default: file name and backend

    @property
    def backend_name(self) -> str:
        return default_backend(self.path) if self.backend == "auto" else self.backend

    @property
    def name(self) -> str:
        return self.label or f"{Path(self.path).name} [{self.backend_name}]"

    def load(self, **overrides: Any) -> Detector:
        """A `Detector` for this model (`overrides`: Detector thresholds such as conf, iou)."""
        return Detector(self.path, backend=self.backend, device=self.device, **self.options, **overrides)


@dataclass
class BenchOptions:
    """How long and how to measure."""

    warmup: int = 20
    iters: int | None = 200  # timed rounds (each model once per round); or
    seconds: float | None = None  # measure for about this long per model
    batch: int = 1
    progress: bool = True
    track: str | None = None  # a tracking method: time Tracker.update as the `track` stage

    def validate(self) -> None:
        if self.warmup < 0:
            raise BenchError(f"--warmup must be >= 0, got {self.warmup}")
        if (self.iters is None) == (self.seconds is None):
            raise BenchError("give exactly one of --iters and --seconds")
        if self.iters is not None and self.iters < 1:
            raise BenchError(f"--iters must be >= 1, got {self.iters}")
        if self.seconds is not None and self.seconds <= 0:
            raise BenchError(f"--seconds must be > 0, got {self.seconds}")
        if self.batch < 1:
            raise BenchError(f"--batch must be >= 1, got {self.batch}")
        if self.track is not None:
            from edgeyolo.runtime.tracking import METHODS

            if self.track not in METHODS:
                raise BenchError(f"--track must be one of {', '.join(sorted(METHODS))}, got {self.track!r}")


@dataclass
class ModelResult:
    """Everything measured for one model."""

    name: str
    path: str
    backend: str
    device: str
    details: dict[str, str]
    precision: str
    imgsz: tuple[int, int]
    batch: int
    samples_ms: dict[str, list[float]]
    stages: dict[str, Summary] = field(default_factory=dict)
    fps: float = float("nan")
    ratio: float | None = None  # median per-round end-to-end ratio to the first model
    speedup: dict[str, float] = field(default_factory=dict)  # stage -> median per-round baseline/this
    baseline: str | None = None  # the row speed-ups refer to
    load_s: float = float("nan")
    rss_load_mb: float | None = None  # resident memory the model added when loaded
    file_mb: float | None = None  # size on disk (an IR directory: all its files)
    accuracy: dict[str, Any] | None = None  # map50_95, map50 … from --data
    power: dict[str, Any] | None = None  # Jetson: avg W, mJ/frame, GPU/EMC load
    detections: int = 0  # detections in the last timed call (a sanity check that the model sees things)

    def finish(self) -> None:
        self.stages = {k: summarize(v) for k, v in self.samples_ms.items() if v}
        self.fps = fps(self.stages["end_to_end"].median, self.batch)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the raw per-call samples."""
        return {
            "name": self.name,
            "path": self.path,
            "backend": self.backend,
            "device": self.device,
            "details": dict(self.details),
            "precision": self.precision,
            "compute_precision": self.details.get("precision"),  # what the float parts ran in
            "imgsz": list(self.imgsz),
            "batch": self.batch,
            "stages_ms": {k: s.to_dict() for k, s in self.stages.items()},
            "fps": self.fps,
            "ratio_to_first": self.ratio,
            "baseline": self.baseline,
            "speedup_vs_baseline": dict(self.speedup),
            "load_s": self.load_s,
            "rss_load_mb": self.rss_load_mb,
            "file_mb": self.file_mb,
            "detections_last_call": self.detections,
            "accuracy": self.accuracy,
            "power": self.power,
            "samples_ms": {k: [round(x, 4) for x in v] for k, v in self.samples_ms.items()},
        }


class StagedRunner:
    """Runs one model's `Detector.detect_batch` on `batch` frames per call and times each stage."""

    def __init__(
        self, detector: Detector, frames: Sequence[np.ndarray], batch: int, track: str | None = None
    ) -> None:
        if not frames:
            raise BenchError("no frames to benchmark on")
        self.detector = detector
        self.frames = list(frames)
        self.batch = batch
        self._calls = 0
        self.trackers = None
        if track:
            from edgeyolo.runtime.tracking import Tracker

            self.trackers = [Tracker(track) for _ in range(batch)]  # one stream per batch slot

    def _next_frames(self) -> list[np.ndarray]:
        start = self._calls * self.batch
        self._calls += 1
        return [self.frames[(start + k) % len(self.frames)] for k in range(self.batch)]

    def run(self) -> tuple[tuple[float, ...], int]:
        """One timed call: (letterbox, inference, postprocess[, track], end-to-end) in ms, and detections
        found."""
        times = StageTimes()
        detections = self.detector.detect_batch(self._next_frames(), times)
        found = sum(len(d) for d in detections)
        if self.trackers is None:
            return (times.preprocess, times.inference, times.postprocess, times.end_to_end), found
        start = time.perf_counter()
        for tracker, d in zip(self.trackers, detections, strict=True):
            tracker.update(d)
        track = 1e3 * (time.perf_counter() - start)
        return (times.preprocess, times.inference, times.postprocess, track, times.end_to_end + track), found


def _check_imgsz(model: BenchModel, detector: Detector, imgsz: tuple[int, int] | None) -> None:
    size = tuple(detector.contract.imgsz)
    if imgsz is not None and tuple(imgsz) != size:
        detector.close()
        raise BenchError(
            f"{Path(model.path).name} was exported for {size[0]},{size[1]} input and cannot run at "
            f"{imgsz[0]},{imgsz[1]}: leave out --imgsz or re-export with `edgeyolo export --imgsz`"
        )


def load_models(
    models: Sequence[BenchModel], imgsz: tuple[int, int] | None
) -> list[tuple[BenchModel, Detector, float, float | None]]:
    """Load every model (detector, seconds to load, MiB of resident memory it added)."""
    loaded = []
    try:
        for m in models:
            if m.backend_name == "torch" and imgsz is not None:
                m.options.setdefault("imgsz", imgsz)
            before, t = rss_mb(), time.perf_counter()
            try:
                det = m.load(conf=0.25, iou=0.45)
            except (BackendError, ValueError, FileNotFoundError) as exc:
                raise BenchError(f"cannot load {m.name}: {exc}") from exc
            secs, after = time.perf_counter() - t, rss_mb()
            if m.backend_name != "torch":
                _check_imgsz(m, det, imgsz)
            elif any(side % max(det.contract.strides) for side in det.contract.imgsz):
                det.close()
                h, w = det.contract.imgsz
                raise BenchError(
                    f"image size {h},{w} is not a multiple of the largest stride {max(det.contract.strides)}"
                )
            loaded.append((m, det, secs, None if before is None or after is None else after - before))
    except BaseException:
        for _, det, _, _ in loaded:
            det.close()
        raise
    return loaded


def run_benchmark(
    models: Sequence[BenchModel],
    frames: Sequence[np.ndarray],
    options: BenchOptions,
    imgsz: tuple[int, int] | None = None,
    power: Callable[[StagedRunner], dict[str, Any]] | None = None,
    accuracy: Callable[[BenchModel], dict[str, Any]] | None = None,
    baseline: int = 0,
) -> list[ModelResult]:
    """Measure `models` interleaved on `frames`; optionally measure power per model (`power`, each model
    alone, after the timing) and accuracy (`accuracy`, after everything else). Speed-ups (end to end and
    inference) are medians of per-round ratios to `models[baseline]`."""
    options.validate()
    if not models:
        raise BenchError("no models to benchmark")
    if not 0 <= baseline < len(models):
        raise BenchError(f"--baseline {baseline + 1}: there are {len(models)} models")
    loaded = load_models(models, imgsz)
    try:
        runners = [StagedRunner(det, frames, options.batch, options.track) for _, det, _, _ in loaded]
        results = [
            ModelResult(
                name=m.name,
                path=str(m.path),
                backend=det.backend.name,
                device=m.device,
                details=dict(det.backend.details),
                precision=det.contract.precision,
                imgsz=tuple(det.contract.imgsz),
                batch=options.batch,
                samples_ms={s: [] for s in stages_of(options.track)},
                load_s=secs,
                rss_load_mb=rss,
                file_mb=model_size_mb(m.path),
            )
            for m, det, secs, rss in loaded
        ]
        _interleave(runners, results, options)
        for r in results:
            r.finish()
        base = results[0].samples_ms["end_to_end"]
        for r in results:
            r.ratio = paired_ratio(r.samples_ms["end_to_end"], base)
            reference = results[baseline]
            r.baseline = reference.name
            r.speedup = {
                stage: paired_ratio(reference.samples_ms[stage], r.samples_ms[stage])
                for stage in ("end_to_end", "inference")
            }
        if power is not None:
            for runner, r in zip(runners, results, strict=True):
                r.power = power(runner)
    finally:
        for _, det, _, _ in loaded:
            det.close()
    if accuracy is not None:
        for m, r in zip(models, results, strict=True):
            r.accuracy = accuracy(m)
    return results


def _interleave(runners: list[StagedRunner], results: list[ModelResult], options: BenchOptions) -> None:
    from tqdm import tqdm

    n = len(runners)
    total = (options.warmup + options.iters) * n if options.iters is not None else None
    with tqdm(total=total, desc="bench", unit="call", file=sys.stderr, disable=not options.progress) as bar:
        for _ in range(options.warmup):
            for runner in runners:
                runner.run()
                bar.update(1)
        start, rounds = time.perf_counter(), 0
        while True:
            shift = rounds % n  # rotate who goes first, so no model always follows the same neighbour
            for i in [*range(shift, n), *range(shift)]:
                times, found = runners[i].run()
                for stage, ms in zip(stages_of(options.track), times, strict=True):
                    results[i].samples_ms[stage].append(ms)
                results[i].detections = found
                bar.update(1)
            rounds += 1
            if options.iters is not None and rounds >= options.iters:
                break
            if options.seconds is not None and time.perf_counter() - start >= options.seconds * n:
                break


def model_size_mb(path: str | Path) -> float | None:
    """Size of a model on disk in MB: a file, or every file of a directory (an OpenVINO IR)."""
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6
    if path.suffix.lower() == ".xml" and path.with_suffix(".bin").is_file():
        return (path.stat().st_size + path.with_suffix(".bin").stat().st_size) / 1e6
    return path.stat().st_size / 1e6 if path.is_file() else None
