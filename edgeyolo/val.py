"""`edgeyolo val`: COCO mAP of any model format through exactly the runtime's pre- and post-processing.

Every format (.pt through the runtime's torch backend, .onnx, .xml) goes through the same `Detector`
letterbox, decode, NMS and scale-back, so differences between formats come from the model alone. torch is
imported only when a `.pt` checkpoint (or an in-memory model) is evaluated.
"""

from __future__ import annotations

import statistics
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from tqdm import tqdm

from edgeyolo.coco_metrics import (
    STAGES,
    ValResult,
    coco_map,
    ground_truth_coco,
    labels_to_pixels,
)
from edgeyolo.data.formats import Sample, load_data_yaml, load_split
from edgeyolo.errors import EdgeYoloError, require
from edgeyolo.runtime.backends import BackendError, default_backend
from edgeyolo.runtime.contract import ContractError
from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.detector import Detector, StageTimes

if TYPE_CHECKING:
    import torch

__all__ = [
    "ValError",
    "ValResult",
    "coco_map",
    "evaluate",
    "evaluate_model",
    "evaluate_torch_model",
    "ground_truth_coco",
    "load_detector",
]

Report = Callable[[str], None]


class ValError(EdgeYoloError, ValueError):
    """A validation that cannot run as asked (model/dataset mismatch, bad size, unloadable model)."""


def evaluate(
    detector: Detector,
    samples: Sequence[Sample],
    names: Sequence[str],
    batch: int = 1,
    progress: bool = True,
    verbose: bool = False,
    report: Report | None = None,
) -> ValResult:
    """Run `detector` on every sample's image and score it with COCO mAP against the sample's labels.

    Unreadable images are reported once each and skipped. Each stage (preprocess, inference,
    postprocess) is timed separately; with batches, a batch's time is shared evenly by its images.
    """
    if not isinstance(batch, int) or batch < 1:
        raise ValError(f"batch must be a positive integer, got {batch!r}")
    report = report or _warn
    fixed = detector.backend.fixed_batch
    step = fixed or batch
    if fixed is not None and batch not in (1, fixed):
        report(f"the model has a fixed batch of {fixed}; evaluating {fixed} images per call, not {batch}")
    gts: list[np.ndarray] = []
    dets: list[Detections] = []
    shapes: list[tuple[int, int]] = []
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    skipped = 0
    pending: list[tuple[np.ndarray, Sample]] = []

    def flush() -> None:
        stage_times = StageTimes()
        results = detector.detect_batch([f for f, _ in pending], stage_times)
        for stage in STAGES:
            times[stage] += [getattr(stage_times, stage) / len(pending)] * len(pending)
        for (frame, sample), d in zip(pending, results, strict=True):
            shapes.append(frame.shape[:2])
            gts.append(labels_to_pixels(sample.labels, frame.shape[:2]))
            dets.append(d)
        bar.update(len(pending))
        pending.clear()

    with tqdm(total=len(samples), desc="val", unit="img", file=sys.stderr, disable=not progress) as bar:
        for sample in samples:
            frame = cv2.imread(str(sample.image), cv2.IMREAD_COLOR)
            if frame is None:
                report(f"{sample.image}: cannot read the image; skipped")
                skipped += 1
                bar.update(1)
                continue
            pending.append((frame, sample))
            if len(pending) == step:
                flush()
        if pending:
            flush()
    result = coco_map(gts, dets, names, detector.max_det, verbose=verbose, shapes=shapes)
    result.skipped = skipped
    result.precision = detector.backend.details.get("precision")
    result.times_ms = {
        s: {"median": statistics.median(v), "mean": statistics.fmean(v)} for s, v in times.items() if v
    }
    return result


def load_detector(
    model_path: str | Path,
    imgsz: int | tuple[int, int] | None = None,
    conf: float = 0.001,
    iou: float = 0.6,
    max_det: int = 300,
    backend: str = "auto",
    device: str = "cpu",
    trust: bool = False,
    precision: str | None = None,
) -> Detector:
    """A `Detector` for validation. `imgsz` sets a `.pt` checkpoint's input size; an exported model's size
    is fixed by its metadata, and a different `imgsz` is an error."""
    path = Path(model_path)
    size = None if imgsz is None else ((imgsz, imgsz) if isinstance(imgsz, int) else tuple(imgsz))
    try:
        name = default_backend(path) if backend == "auto" else backend
        options = {"imgsz": size, "trust": trust} if name == "torch" else {}
        detector = Detector(
            path,
            backend=backend,
            device=device,
            conf=conf,
            iou=iou,
            max_det=max_det,
            precision=precision,
            **options,
        )
    except FileNotFoundError as exc:
        raise ValError(str(exc)) from exc
    except (BackendError, ContractError, ValueError) as exc:
        raise ValError(f"cannot load {path}: {exc}") from exc
    c = detector.contract
    if name == "torch":
        stride = max(c.strides)
        if any(s % stride for s in c.imgsz):
            detector.close()
            raise ValError(
                f"image size {c.imgsz[0]},{c.imgsz[1]} is not a multiple of the largest stride {stride}"
            )
    elif size is not None and tuple(size) != tuple(c.imgsz):
        detector.close()
        raise ValError(
            f"{path.name} was exported for {c.imgsz[0]},{c.imgsz[1]} input and cannot run at "
            f"{size[0]},{size[1]}; leave out --imgsz or re-export with `edgeyolo export --imgsz`"
        )
    return detector


def evaluate_model(
    model_path: str | Path,
    data_yaml: str | Path,
    split: str = "val",
    imgsz: int | tuple[int, int] | None = None,
    conf: float = 0.001,
    iou: float = 0.6,
    max_det: int = 300,
    batch: int = 1,
    backend: str = "auto",
    device: str = "cpu",
    trust: bool = False,
    progress: bool = True,
    verbose: bool = False,
    report: Report | None = None,
    precision: str | None = None,
) -> ValResult:
    """COCO mAP of a model file (.pt, .onnx, .xml) on one split of a YOLO dataset (data.yaml).
    `precision`: what the backend computes in (see `Detector`)."""
    require("pycocotools.cocoeval", "val", "`edgeyolo val`")
    spec = load_data_yaml(data_yaml)
    samples = load_split(spec, split, report)
    with load_detector(model_path, imgsz, conf, iou, max_det, backend, device, trust, precision) as detector:
        if len(detector.names) != spec.nc:
            raise ValError(
                f"{Path(model_path).name} has {len(detector.names)} classes but {data_yaml} has {spec.nc}: "
                "validate a model on the dataset it was trained for"
            )
        if tuple(detector.names) != tuple(spec.names):
            (report or _warn)(
                f"class names differ between the model {list(detector.names)[:5]} and the dataset "
                f"{spec.names[:5]}; scoring by class index"
            )
        return evaluate(detector, samples, spec.names, batch, progress, verbose, report)


def evaluate_torch_model(
    model: torch.nn.Module,
    samples: Sequence[Sample],
    names: Sequence[str],
    imgsz: int | tuple[int, int],
    conf: float = 0.001,
    iou: float = 0.6,
    max_det: int = 300,
    batch: int = 1,
    progress: bool = False,
    verbose: bool = False,
    report: Report | None = None,
) -> ValResult:
    """COCO mAP of an in-memory `DetectionModel` (e.g. during training), through the runtime's processing.

    The model's train/eval state and head mode are left as they were.
    """
    from edgeyolo.models.memory_backend import InMemoryTorchBackend

    if model.nc != len(names):
        raise ValError(f"the model has {model.nc} classes but {len(names)} names were given")
    detector = Detector(InMemoryTorchBackend(model, imgsz), conf=conf, iou=iou, max_det=max_det)
    return evaluate(detector, samples, names, batch, progress, verbose, report)


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)
