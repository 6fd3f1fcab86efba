"""Verification of the deployment targets: an OpenVINO IR against PyTorch (or its source ONNX), INT8 models
by mAP and by how far their confidences move from the float model's on matched boxes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edgeyolo.export.verify.compare import compare_outputs
from edgeyolo.export.verify.matching import same_object_pairs
from edgeyolo.export.verify.onnx import fixed_input, reference_nms, run_onnx, torch_reference
from edgeyolo.export.verify.result import VerifyResult
from edgeyolo.export.verify.tolerance import EXPORT_VS_TORCH, NMS_DETECTIONS_VS_TORCH, SAME_OBJECT_IOU
from edgeyolo.runtime import Detector, load_backend
from edgeyolo.runtime.contract import Contract

if TYPE_CHECKING:
    import torch


def verify_openvino(
    ir_dir: str | Path, reference: torch.nn.Module | str | Path, contract: Contract, batch: int
) -> VerifyResult:
    """Run the IR in OpenVINO on CPU with f32 inference precision and compare with `reference`: the PyTorch
    model, or the float ONNX it was converted from (run on onnxruntime).

    The precision is forced to f32 so the check measures the IR itself, not a bf16 execution mode.
    fp16 IRs are held to the fp16 tolerance (their weights are rounded to fp16).
    """
    with load_backend(ir_dir, "openvino", device="CPU", precision="fp32") as backend:
        x = fixed_input(contract, batch)
        if contract.input != "uint8-nhwc-bgr":
            x = x.astype(np.float32)
        got = backend.infer(x)
        ran = backend.details.get("inference_precision", "?")
    if isinstance(reference, (str, Path)):
        expected = run_onnx(reference, x)
        name = "onnx"
    else:
        expected = torch_reference(reference, contract, x)
        name = "torch"
    if contract.outputs == "nms":
        return (
            _compare_nms(got, expected, contract)
            if name == "torch"
            else compare_outputs(got, expected, EXPORT_VS_TORCH[contract.precision], "openvino", name)
        )
    result = compare_outputs(got, expected, EXPORT_VS_TORCH[contract.precision], "openvino", name)
    result.detail += f" (OpenVINO CPU, inference precision {ran})"
    return result


def _compare_nms(got: list[np.ndarray], decoded: list[np.ndarray], contract: Contract) -> VerifyResult:
    """An nms IR: its detections must be the torch model's boxes/scores followed by the runtime's NMS."""
    expected = reference_nms(decoded[0], contract.nms_conf or 0.0, contract.nms_iou or 0.45, contract.max_det)
    dets, num = got[0], got[1]
    worst = 0.0
    for b, ref in enumerate(expected):
        mine = dets[b, : int(num[b])]
        if len(mine) != len(ref):
            return VerifyResult(False, f"image {b}: {len(mine)} detections, torch gives {len(ref)}")
        ref = ref[np.lexsort((ref[:, 0], -ref[:, 4]))]
        mine = mine[np.lexsort((mine[:, 0], -mine[:, 4]))]
        worst = max(worst, float(np.abs(mine - ref).max()) if len(ref) else 0.0)
    scale = max(1.0, float(np.abs(decoded[0][..., :4]).max()))
    ok = worst / scale <= NMS_DETECTIONS_VS_TORCH
    return VerifyResult(ok, f"nms detections within {worst:.3g} of torch + runtime NMS", worst, worst / scale)


def check_int8(
    reference_model: str | Path,
    int8_model: str | Path,
    data_yaml: str | Path,
    max_drop: float = 1.0,
    conf_images: int = 100,
    label: str = "INT8",
) -> VerifyResult:
    """mAP of both models on the val split (same runtime path) and confidence drift on matched boxes.
    Passes when mAP50-95 drops by at most `max_drop` points. `label` names the checked model's precision
    (INT8, or BF16 for an IR marked for bf16 execution)."""
    from edgeyolo.data.formats import load_data_yaml, load_split
    from edgeyolo.val import evaluate_model

    ref = evaluate_model(reference_model, data_yaml, progress=False)
    got = evaluate_model(int8_model, data_yaml, progress=False)
    drop = 100 * (ref.map50_95 - got.map50_95)
    samples = load_split(load_data_yaml(data_yaml), "val")[:conf_images]
    diffs = confidence_drift(reference_model, int8_model, [s.image for s in samples])
    conf_diff = (
        {"median": float(np.median(diffs)), "p95": float(np.percentile(diffs, 95)), "max": float(diffs.max())}
        if len(diffs)
        else {}
    )
    metrics = {
        "reference_map50_95": ref.map50_95,
        "reference_map50": ref.map50,
        "map50_95": got.map50_95,
        "map50": got.map50,
        "drop_points": drop,
        "max_drop": max_drop,
        "matched_boxes": len(diffs),
        "conf_diff": conf_diff,
    }
    if ref.map50_95 < 0.01:  # a float model that finds nothing (e.g. random weights) cannot judge INT8
        detail = (
            f"{label} accuracy NOT VERIFIABLE: the float model scores mAP50-95 {ref.map50_95:.4f} "
            "on this data (untrained, or the wrong dataset)"
        )
        return VerifyResult(drop <= max_drop, detail, metrics=metrics)
    ok = drop <= max_drop
    conf = ", ".join(f"{k} {v:.3f}" for k, v in conf_diff.items())
    detail = (
        f"{label} verification {'PASSED' if ok else 'FAILED'}: mAP50-95 {got.map50_95:.4f} "
        f"vs float {ref.map50_95:.4f} (drop {drop:.2f} points, allowed {max_drop:g}); mAP50 {got.map50:.4f} "
        f"vs {ref.map50:.4f}; |Δconfidence| on {len(diffs)} matched boxes: {conf}"
    )
    return VerifyResult(ok, detail, metrics=metrics)


def confidence_drift(
    reference_model: str | Path, other_model: str | Path, images: list[Path], conf: float = 0.25
) -> np.ndarray:
    """|Δconfidence| of every reference detection matched (same class, same object) by the other model."""
    diffs: list[float] = []
    with Detector(reference_model, conf=conf) as a, Detector(other_model, conf=conf) as b:
        for path in images:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                continue
            da, db = a.detect(frame), b.detect(frame)
            pairs = same_object_pairs(
                da.xyxy, da.confidence, da.class_id, db.xyxy, db.class_id, SAME_OBJECT_IOU
            )
            diffs += [abs(float(da.confidence[i]) - float(db.confidence[j])) for i, j, _ in pairs]
    return np.asarray(diffs, dtype=np.float64)
