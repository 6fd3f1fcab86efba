"""COCO box mAP with pycocotools: ground truth and detections in original-image pixels → `ValResult`.

Ground truth of one image is a float64 array [n, 5] = class, x1, y1, x2, y2 (pixels). Category ids are the
class indices 0..nc-1; image and annotation ids start at 1 (pycocotools reads a matched id of 0 as "no
match"). The headline numbers are COCO's AP@[.50:.95] and AP@.50 over the `all` area range, read from the
accumulated precision array at ``maxDets = max_det`` (COCO's default stops at 100 detections per image;
the detector keeps up to `max_det`, 300 by default, and all of them count here; pycocotools applies the
limit per image and class, which the detector's per-image limit already satisfies).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeyolo.errors import require
from edgeyolo.runtime.detections import Detections

STAGES = ("preprocess", "inference", "postprocess")


@dataclass
class ValResult:
    """mAP of one evaluation, per class, with counts and per-image stage times.

    `per_class` rows hold name, images (images containing the class), instances, ap50_95 and ap50;
    the APs are None for a class without ground truth (excluded from the mean, as COCO does).
    `times_ms` maps each of preprocess / inference / postprocess to {"median", "mean"} ms per image.
    """

    map50_95: float
    map50: float
    per_class: list[dict[str, Any]]
    images: int
    instances: int
    detections: int = 0
    skipped: int = 0
    times_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    precision: str | None = None  # what the backend computed in (e.g. fp32, bf16), as it reported

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (plain floats, None where a value is undefined)."""
        return {
            "map50_95": float(self.map50_95),
            "map50": float(self.map50),
            "images": int(self.images),
            "instances": int(self.instances),
            "detections": int(self.detections),
            "skipped": int(self.skipped),
            "per_class": [dict(row) for row in self.per_class],
            "times_ms": {k: dict(v) for k, v in self.times_ms.items()},
            "precision": self.precision,
        }

    def format_table(self) -> str:
        """A terminal table like YOLOv5's val: class, images, instances, mAP50, mAP50-95 ('all' first)."""
        width = max([20, *(len(str(r["name"])) + 2 for r in self.per_class)])
        cols = ("Images", "Instances", "mAP50", "mAP50-95")
        lines = [f"{'Class':>{width}}" + "".join(f"{c:>11}" for c in cols)]
        lines.append(_row("all", self.images, self.instances, self.map50, self.map50_95, width))
        for r in self.per_class:
            lines.append(_row(r["name"], r["images"], r["instances"], r["ap50"], r["ap50_95"], width))
        return "\n".join(lines)

    def format_times(self) -> str:
        """One line of per-image stage times (median, with the mean in brackets)."""
        if not self.times_ms:
            return ""
        parts = [f"{t['median']:.1f} ms {stage} ({t['mean']:.1f} mean)" for stage, t in self.times_ms.items()]
        ran = f" ({self.precision})" if self.precision else ""
        return f"Speed per image{ran}: " + ", ".join(parts)


def _row(name: str, images: int, instances: int, ap50: float | None, ap: float | None, width: int) -> str:
    def fmt(v: float | None) -> str:
        return f"{'-':>11}" if v is None else f"{v:>11.3f}"

    return f"{name:>{width}}{images:>11}{instances:>11}{fmt(ap50)}{fmt(ap)}"


def labels_to_pixels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """YOLO labels [n, 5] (class, cx, cy, w, h normalised) → [n, 5] (class, x1, y1, x2, y2) in pixels of
    an image of `shape` (h, w)."""
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, 5)
    h, w = shape
    cx, cy, bw, bh = labels[:, 1] * w, labels[:, 2] * h, labels[:, 3] * w, labels[:, 4] * h
    return np.stack([labels[:, 0], cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)


def ground_truth_coco(
    samples: Sequence[Any], names: Sequence[str], shapes: Sequence[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """A COCO ground-truth dict from `Sample`s (YOLO labels), in original-image pixels.

    `shapes` holds each image's (h, w); without it every image is read once with cv2 to learn its size.
    """
    if shapes is None:
        import cv2

        shapes = []
        for s in samples:
            img = cv2.imread(str(s.image))
            if img is None:
                raise ValueError(f"cannot read image {s.image}")
            shapes.append(img.shape[:2])
    gt = [labels_to_pixels(s.labels, shape) for s, shape in zip(samples, shapes, strict=True)]
    return coco_ground_truth(gt, names, shapes)


def coco_ground_truth(
    gt_per_image: Sequence[np.ndarray],
    names: Sequence[str],
    shapes: Sequence[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """A COCO ground-truth dict from per-image [n, 5] (class, x1, y1, x2, y2) pixel arrays."""
    images, annotations = [], []
    for i, boxes in enumerate(gt_per_image):
        image: dict[str, Any] = {"id": i + 1}
        if shapes is not None:
            image["height"], image["width"] = (int(v) for v in shapes[i])
        images.append(image)
        for cls, x1, y1, x2, y2 in np.asarray(boxes, dtype=np.float64).reshape(-1, 5).tolist():
            w, h = x2 - x1, y2 - y1
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": int(cls),
                    "bbox": [x1, y1, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    categories = [{"id": k, "name": str(n)} for k, n in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}


def coco_detections(dets_per_image: Sequence[Detections], nc: int) -> list[dict[str, Any]]:
    """COCO results (image_id from 1, bbox [x, y, w, h], score, category_id) for classes 0..nc-1."""
    results = []
    for i, dets in enumerate(dets_per_image):
        for (x1, y1, x2, y2), score, cls in zip(
            dets.xyxy.tolist(), dets.confidence.tolist(), dets.class_id.tolist(), strict=True
        ):
            if 0 <= cls < nc:
                results.append(
                    {
                        "image_id": i + 1,
                        "category_id": int(cls),
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "score": score,
                    }
                )
    return results


def coco_map(
    gt_per_image: Sequence[np.ndarray],
    dets_per_image: Sequence[Detections],
    names: Sequence[str],
    max_det: int = 300,
    verbose: bool = False,
    shapes: Sequence[tuple[int, int]] | None = None,
) -> ValResult:
    """COCO box mAP of detections against ground truth, image by image (see the module docstring).

    No detections at all gives mAP 0; no ground truth at all gives mAP 0 and every class AP None.
    pycocotools' own prints go to stderr with `verbose`, nowhere otherwise.
    """
    coco_mod = require("pycocotools.coco", "val", "`edgeyolo val`")
    cocoeval_mod = require("pycocotools.cocoeval", "val", "`edgeyolo val`")
    if len(gt_per_image) != len(dets_per_image):
        raise ValueError(f"{len(gt_per_image)} ground-truth images but {len(dets_per_image)} detection lists")
    nc = len(names)
    classes = [np.asarray(g, dtype=np.float64).reshape(-1, 5)[:, 0].astype(np.int64) for g in gt_per_image]
    instances = np.bincount(np.concatenate([np.zeros(0, np.int64), *classes]), minlength=nc)[:nc]
    images_with = np.zeros(nc, np.int64)
    for c in classes:
        images_with[np.unique(c[(c >= 0) & (c < nc)])] += 1
    results = coco_detections(dets_per_image, nc)

    precision = None  # [T, R, K] at area 'all', maxDets = max_det
    if results and instances.sum() > 0:
        with _pycocotools_output(verbose):
            coco_gt = coco_mod.COCO()
            coco_gt.dataset = coco_ground_truth(gt_per_image, names, shapes)
            coco_gt.createIndex()
            coco_dt = coco_gt.loadRes(results)
            ev = cocoeval_mod.COCOeval(coco_gt, coco_dt, iouType="bbox")
            # COCO's 1/10/100 stay so the verbose summary is the standard one; max_det is the headline.
            ev.params.maxDets = sorted({1, 10, 100, int(max_det)})
            ev.evaluate()
            ev.accumulate()
            if verbose:
                ev.summarize()
        precision = ev.eval["precision"][:, :, :, 0, ev.params.maxDets.index(int(max_det))]

    per_class = []
    for k, name in enumerate(names):
        ap = ap50 = None
        if instances[k]:
            ap = ap50 = 0.0
            if precision is not None:
                ap, ap50 = _mean_valid(precision[:, :, k]), _mean_valid(precision[0, :, k])
        per_class.append(
            {
                "name": str(name),
                "images": int(images_with[k]),
                "instances": int(instances[k]),
                "ap50_95": ap,
                "ap50": ap50,
            }
        )
    map50_95 = map50 = 0.0
    if precision is not None:
        map50_95, map50 = _mean_valid(precision), _mean_valid(precision[0])
    return ValResult(
        map50_95=map50_95,
        map50=map50,
        per_class=per_class,
        images=len(gt_per_image),
        instances=int(instances.sum()),
        detections=len(results),
    )


def _mean_valid(p: np.ndarray) -> float:
    """Mean over the entries pycocotools filled in (-1 marks a category without ground truth)."""
    valid = p[p > -1]
    return float(valid.mean()) if valid.size else 0.0


@contextlib.contextmanager
def _pycocotools_output(verbose: bool) -> Iterator[None]:
    with contextlib.redirect_stdout(sys.stderr if verbose else io.StringIO()):
        yield
