"""`--data`: COCO mAP of each benchmarked model through `edgeyolo.val` (pycocotools), on the same backend,
device and options as its timing, with validation thresholds (conf 0.001, IoU 0.6, 300 detections)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from edgeyolo.bench.harness import BenchError, BenchModel

__all__ = ["AccuracyEvaluator", "dataset_images"]


def dataset_images(data_yaml: str | Path, split: str = "val") -> list[Path]:
    """Image paths of a split of a YOLO dataset (data.yaml)."""
    from edgeyolo.data.formats import load_data_yaml, load_split

    return [s.image for s in load_split(load_data_yaml(data_yaml), split, _warn)]


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class AccuracyEvaluator:
    """Callable: `BenchModel` → {"map50_95", "map50", "images", …} on one split of `data_yaml`."""

    def __init__(self, data_yaml: str | Path, split: str = "val", progress: bool = True) -> None:
        from edgeyolo.errors import require

        require("pycocotools.cocoeval", "val", "`edgeyolo bench --data`")
        from edgeyolo.data.formats import load_data_yaml, load_split

        self.data_yaml = str(data_yaml)
        self.spec = load_data_yaml(data_yaml)
        self.samples = load_split(self.spec, split, _warn)
        if not self.samples:
            raise BenchError(f"{data_yaml} has no images in its {split!r} split")
        self.split, self.progress = split, progress

    def __call__(self, model: BenchModel) -> dict[str, Any]:
        from edgeyolo.val import evaluate

        with model.load(conf=0.001, iou=0.6, max_det=300) as detector:
            if len(detector.names) != self.spec.nc:
                raise BenchError(
                    f"{model.name} has {len(detector.names)} classes but {self.data_yaml} has {self.spec.nc}"
                )
            result = evaluate(detector, self.samples, self.spec.names, progress=self.progress, report=_warn)
        return {
            "data": self.data_yaml,
            "split": self.split,
            "map50_95": float(result.map50_95),
            "map50": float(result.map50),
            "images": int(result.images),
            "instances": int(result.instances),
        }
