"""Verification of the deployment targets: OpenVINO IR against PyTorch, INT8 models by mAP and by how far
their confidences move from the float model's on matched boxes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from edgeyolo.export.verify import (
    TOLERANCE,
    VerifyResult,
    _compare_arrays,
    fixed_input,
    reference_nms,
    torch_reference,
)
from edgeyolo.runtime.contract import Contract


def verify_openvino(
    ir_dir: str | Path, reference: torch.nn.Module, contract: Contract, batch: int
) -> VerifyResult:
    """Run the IR in OpenVINO on CPU with f32 inference precision and compare with `reference`.

    The precision is forced to f32 so the check measures the IR itself, not a bf16 execution mode.
    fp16 IRs are held to the fp16 tolerance (their weights are rounded to fp16).
    """
    from edgeyolo.runtime.backends.openvino_backend import OpenVINOBackend

    backend = OpenVINOBackend(ir_dir, device="CPU", precision="f32")
    try:
        x = fixed_input(contract, batch)
        if contract.input != "uint8-nhwc-bgr":
            x = x.astype(np.float32)
        got = backend.infer(x)
        ran = backend.details.get("inference_precision", "?")
    finally:
        backend.close()
    if contract.outputs == "nms":
        return _compare_nms(got, x, reference, contract)
    result = _compare_arrays(got, torch_reference(reference, contract, x), TOLERANCE[contract.precision])
    result.detail += f" (OpenVINO CPU, inference precision {ran})"
    return result


def _compare_nms(got: list[np.ndarray], x: np.ndarray, reference, contract: Contract) -> VerifyResult:
    """An nms IR: its detections must be the torch model's boxes/scores followed by the runtime's NMS."""
    decoded = torch_reference(reference, contract, x)[0]
    expected = reference_nms(decoded, contract.nms_conf or 0.0, contract.nms_iou or 0.45, contract.max_det)
    dets, num = got[0], got[1]
    worst = 0.0
    for b, ref in enumerate(expected):
        mine = dets[b, : int(num[b])]
        if len(mine) != len(ref):
            return VerifyResult(
                False,
                float("nan"),
                float("nan"),
                f"image {b}: {len(mine)} detections, torch gives {len(ref)}",
            )
        ref = ref[np.lexsort((ref[:, 0], -ref[:, 4]))]
        mine = mine[np.lexsort((mine[:, 0], -mine[:, 4]))]
        worst = max(worst, float(np.abs(mine - ref).max()) if len(ref) else 0.0)
    scale = max(1.0, float(np.abs(decoded[..., :4]).max()))
    ok = worst / scale <= 1e-3
    return VerifyResult(ok, worst, worst / scale, f"nms detections within {worst:.3g} of torch + runtime NMS")


@dataclass
class Int8Check:
    """How an INT8 model compares with its float reference on a labelled val split."""

    reference_map50_95: float
    reference_map50: float
    map50_95: float
    map50: float
    max_drop: float  # allowed drop in mAP50-95 points
    matched_boxes: int = 0
    conf_diff: dict[str, float] = field(default_factory=dict)  # median / p95 / max |Δconfidence|

    @property
    def drop(self) -> float:
        return 100 * (self.reference_map50_95 - self.map50_95)

    @property
    def verifiable(self) -> bool:
        """A float model that finds nothing on this data (e.g. random weights) cannot judge the INT8 one."""
        return self.reference_map50_95 >= 0.01

    @property
    def ok(self) -> bool:
        return self.drop <= self.max_drop

    def format(self) -> str:
        if not self.verifiable:
            return (
                f"INT8 accuracy NOT VERIFIABLE: the float model scores mAP50-95 "
                f"{self.reference_map50_95:.4f} "
                "on this data (untrained, or the wrong dataset)"
            )
        verdict = "PASSED" if self.ok else "FAILED"
        conf = ", ".join(f"{k} {v:.3f}" for k, v in self.conf_diff.items())
        return (
            f"INT8 verification {verdict}: mAP50-95 {self.map50_95:.4f} "
            f"vs float {self.reference_map50_95:.4f} "
            f"(drop {self.drop:.2f} points, allowed {self.max_drop:g}); mAP50 {self.map50:.4f} vs "
            f"{self.reference_map50:.4f}; |Δconfidence| on {self.matched_boxes} matched boxes: {conf}"
        )


def check_int8(
    reference_model: str | Path,
    int8_model: str | Path,
    data_yaml: str | Path,
    max_drop: float = 1.0,
    conf_images: int = 100,
) -> Int8Check:
    """mAP of both models on the val split (same runtime path) and confidence drift on matched boxes."""
    from edgeyolo.data.formats import load_data_yaml, load_split
    from edgeyolo.val import evaluate_model

    ref = evaluate_model(reference_model, data_yaml, progress=False)
    got = evaluate_model(int8_model, data_yaml, progress=False)
    check = Int8Check(ref.map50_95, ref.map50, got.map50_95, got.map50, max_drop)
    samples = load_split(load_data_yaml(data_yaml), "val")[:conf_images]
    diffs = confidence_drift(reference_model, int8_model, [s.image for s in samples])
    check.matched_boxes = len(diffs)
    if len(diffs):
        check.conf_diff = {
            "median": float(np.median(diffs)),
            "p95": float(np.percentile(diffs, 95)),
            "max": float(diffs.max()),
        }
    return check


def confidence_drift(
    reference_model: str | Path, other_model: str | Path, images: list[Path], conf: float = 0.25
) -> np.ndarray:
    """|Δconfidence| of every reference detection matched (same class, IoU ≥ 0.5) by the other model."""
    from edgeyolo.runtime.detector import Detector

    diffs: list[float] = []
    with Detector(reference_model, conf=conf) as a, Detector(other_model, conf=conf) as b:
        for path in images:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                continue
            da, db = a.detect(frame), b.detect(frame)
            diffs += _matched_conf_diffs(
                da.xyxy, da.confidence, da.class_id, db.xyxy, db.confidence, db.class_id
            )
    return np.asarray(diffs, dtype=np.float64)


def _matched_conf_diffs(boxes_a, conf_a, cls_a, boxes_b, conf_b, cls_b, iou_min: float = 0.5) -> list[float]:
    """Greedy matching by descending reference confidence; one partner per box."""
    if not len(boxes_a) or not len(boxes_b):
        return []
    lt = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    rb = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area_a = (boxes_a[:, 2:] - boxes_a[:, :2]).prod(1)
    area_b = (boxes_b[:, 2:] - boxes_b[:, :2]).prod(1)
    iou = inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)
    iou[cls_a[:, None] != cls_b[None]] = 0
    used = np.zeros(len(boxes_b), bool)
    out = []
    for i in np.argsort(-conf_a):
        cand = np.where(~used, iou[i], 0)
        j = int(cand.argmax())
        if cand[j] >= iou_min:
            used[j] = True
            out.append(abs(float(conf_a[i]) - float(conf_b[j])))
    return out
