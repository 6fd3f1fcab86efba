"""Verify an exported ONNX file: full checker, onnxruntime load, and agreement with PyTorch.

torch is imported only when a reference is run, so engines can be checked against ONNX without it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx

from edgeyolo.export.verify.compare import compare_outputs
from edgeyolo.export.verify.matching import worst_difference
from edgeyolo.export.verify.result import VerifyResult
from edgeyolo.export.verify.tolerance import EXPORT_VS_TORCH
from edgeyolo.runtime.contract import Contract
from edgeyolo.runtime.nms import nms

if TYPE_CHECKING:
    import torch


def fixed_input(contract: Contract, batch: int, seed: int = 0) -> np.ndarray:
    """A deterministic image-like input in the model's input format."""
    h, w = contract.imgsz
    rng = np.random.default_rng(seed)
    # Smooth gradients plus noise: closer to images than pure noise, still exercises every pixel.
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 / max(w - 1, 1)), (yy * 255 / max(h - 1, 1)), ((xx + yy) % 256)], -1)
    imgs = np.clip(base[None] + rng.normal(0, 20, (batch, h, w, 3)), 0, 255).astype(np.uint8)
    if contract.input == "uint8-nhwc-bgr":
        return imgs
    rgb = imgs[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    return np.ascontiguousarray(rgb.astype(np.float16 if contract.precision == "fp16" else np.float32))


def torch_reference(reference: torch.nn.Module, contract: Contract, x: np.ndarray) -> list[np.ndarray]:
    """The unfused PyTorch model's float32 outputs for input `x` (given in the model's input format)."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(x))
    if contract.input == "uint8-nhwc-bgr":
        t = t.permute(0, 3, 1, 2).float().flip(1) / 255.0
    else:
        t = t.float()
    head = reference.head
    previous = head.mode
    head.mode = "raw" if contract.outputs == "raw" else "decoded"
    try:
        with torch.no_grad():
            out = reference.float().eval()(t)
    finally:
        head.mode = previous
    return [o.numpy() for o in out] if isinstance(out, (list, tuple)) else [out.numpy()]


def run_onnx(model: str | Path | bytes, x: np.ndarray) -> list[np.ndarray]:
    """Run a model (path or serialized bytes) once on onnxruntime's CPU provider."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


def verify_onnx(path: str | Path, reference: torch.nn.Module, contract: Contract, batch: int) -> VerifyResult:
    """Check the file fully, run it in onnxruntime on a fixed input and compare with `reference`."""
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as exc:
        return VerifyResult(False, f"onnx.checker: {str(exc).splitlines()[0]}")
    x = fixed_input(contract, batch)
    try:
        got = run_onnx(path, x)
    except Exception as exc:  # onnxruntime raises its own exception types; report any of them
        return VerifyResult(False, f"onnxruntime could not run it: {exc}")
    if contract.outputs == "nms":
        return _verify_nms(path, reference, contract, x)
    ref = torch_reference(reference, contract, x)
    return compare_outputs(got, ref, EXPORT_VS_TORCH[contract.precision], "onnx", "torch")


def reference_nms(decoded: np.ndarray, conf: float, iou: float, max_det: int) -> list[np.ndarray]:
    """What an `nms` model should output per image for `decoded` [B, N, 5+nc]: the runtime's class-aware
    NMS on each box's best class, as [K, 6] (x1, y1, x2, y2, score, class)."""
    out = []
    for pred in decoded.astype(np.float32):
        xy, wh = pred[:, :2], pred[:, 2:4]
        boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1)
        scores = pred[:, 5:] * pred[:, 4:5]
        score, cls = scores.max(1), scores.argmax(1)
        cand = np.nonzero(score > conf)[0]
        keep = cand[nms(boxes[cand], score[cand], cls[cand], iou, max_det)]
        out.append(np.concatenate([boxes[keep], score[keep, None], cls[keep, None].astype(np.float32)], 1))
    return out


def _with_nms_inputs(path: str | Path) -> tuple[bytes, int]:
    """The same graph with the NonMaxSuppression node's inputs (boxes, scores) as extra outputs."""
    proto = onnx.load(str(path))
    node = next((n for n in proto.graph.node if n.op_type == "NonMaxSuppression"), None)
    if node is None:
        raise ValueError("an `nms` model without a NonMaxSuppression node")
    for name in node.input[:2]:
        proto.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return proto.SerializeToString(), len(proto.graph.output) - 2


def _verify_nms(
    path: str | Path, reference: torch.nn.Module, contract: Contract, x: np.ndarray
) -> VerifyResult:
    """Two checks: the boxes and scores fed to NMS equal torch's, and the detections equal the runtime's
    NMS on exactly those inputs (so float noise cannot flip near-tied greedy choices)."""
    graph, n_out = _with_nms_inputs(path)
    got = run_onnx(graph, x)
    dets, num, boxes, scores = got[0], got[1], got[n_out], got[n_out + 1]
    decoded = torch_reference(reference, contract, x)[0]
    xy, wh = decoded[..., :2], decoded[..., 2:4]
    ref_boxes = np.concatenate([xy - wh / 2, xy + wh / 2], -1)
    cls_scores = decoded[..., 5:] * decoded[..., 4:5]
    tol = EXPORT_VS_TORCH[contract.precision]
    box_err = float(np.abs(boxes - ref_boxes).max())
    score_err = float(np.abs(scores.max(1) - cls_scores.max(-1)).max())
    scale = max(1.0, float(np.abs(ref_boxes).max()))
    if box_err / scale > tol or score_err > tol:
        return VerifyResult(
            False,
            f"NMS inputs differ from torch: boxes {box_err:.3g}, scores {score_err:.3g}",
            box_err,
            box_err / scale,
        )
    total, det_err = 0, 0.0
    for b in range(len(dets)):
        score, cls = scores[b].max(0), scores[b].argmax(0)
        cand = np.nonzero(score > contract.nms_conf)[0]  # ONNX NMS keeps scores strictly above
        keep = cand[nms(boxes[b, cand], score[cand], cls[cand], contract.nms_iou, contract.max_det)]
        ref = np.concatenate([boxes[b, keep], score[keep, None], cls[keep, None]], 1)
        mine = dets[b, : int(num[b])].astype(np.float32)
        if len(ref) == contract.max_det and len(mine) == len(ref):
            # Cut at max_det: boxes tied with the last kept score may fall either side of the cut.
            cut = min(mine[:, 4].min(), ref[:, 4].min()) + 1e-6
            mine, ref = mine[mine[:, 4] > cut], ref[ref[:, 4] > cut]
        err = worst_difference(mine, ref)
        if err is None:
            return VerifyResult(
                False,
                f"image {b}: {int(num[b])} detections, runtime NMS on the same inputs keeps "
                f"{len(keep)} (or different ones)",
            )
        total, det_err = total + len(ref), max(det_err, err)
    ok = det_err <= 1e-5 * scale
    detail = (
        f"NMS inputs match torch (boxes {box_err:.3g}, scores {score_err:.3g}); {total} detections "
        f"match the runtime's NMS"
    )
    return VerifyResult(ok, detail, max(box_err, det_err), box_err / scale)
