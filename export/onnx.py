"""`export_onnx`: fuse, export with the TorchScript-based exporter, simplify, stamp the contract, verify.

The TorchScript exporter (`dynamo=False`) is chosen deliberately: it is mature for these CNNs, needs no
onnxscript, and lets `OnnxNonMaxSuppression` emit a single ONNX `NonMaxSuppression` node.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

from edgeyolo.atomic import atomic_output
from edgeyolo.errors import EdgeYoloError, FailedError, require
from edgeyolo.export.metadata import write_metadata
from edgeyolo.export.report import ExportReport, GraphStats
from edgeyolo.export.verify import verify_onnx
from edgeyolo.export.wrapper import ExportWrapper, fold_uint8_bgr_input, output_names
from edgeyolo.models.contract import build_contract
from edgeyolo.models.fuse import fuse_model
from edgeyolo.models.yolo import DetectionModel
from edgeyolo.runtime.contract import OUTPUT_MODES, Contract

MIN_OPSET = 14  # HardSwish is opset 14; older opsets would need the Add/Clip/Div chain
MISH_OPSET = 18  # first opset with a Mish op


class ExportError(EdgeYoloError):
    """The export cannot be done as asked."""


class VerificationError(FailedError):
    """The exported model does not agree with PyTorch; nothing was written."""

    def __init__(self, message: str, report: ExportReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class OnnxExportOptions:
    imgsz: tuple[int, int] = (640, 640)
    batch: int = 1
    dynamic_batch: bool = False
    dynamic_shape: bool = False
    opset: int = 17
    simplify: bool = True
    outputs: str = "raw"
    uint8_input: bool = False
    half: bool = False
    max_det: int = 300
    conf: float = 0.25
    iou: float = 0.45
    fuse: bool = True
    verify: bool = True
    report_unfused: bool = True

    def validate(self, max_stride: int) -> None:
        if self.opset < MIN_OPSET:
            raise ExportError(
                f"opset {self.opset} is too old: h-swish/h-sigmoid export as single HardSwish/HardSigmoid "
                f"nodes from opset {MIN_OPSET}; use --opset {MIN_OPSET} or newer"
            )
        if self.outputs not in OUTPUT_MODES:
            raise ExportError(f"--outputs must be one of {', '.join(OUTPUT_MODES)}, got {self.outputs!r}")
        h, w = self.imgsz
        if h <= 0 or w <= 0 or h % max_stride or w % max_stride:
            raise ExportError(
                f"image size {h},{w} must be positive multiples of the model's largest stride {max_stride}"
            )
        if self.batch < 1:
            raise ExportError(f"--batch must be >= 1, got {self.batch}")
        if self.max_det < 1 or not 0 <= self.conf < 1 or not 0 < self.iou <= 1:
            raise ExportError("need --max-det >= 1, 0 <= --conf < 1 and 0 < --iou <= 1")


def export_onnx(
    model: DetectionModel,
    path: str | Path,
    options: OnnxExportOptions,
    source_sha256: str = "",
) -> tuple[ExportReport, Contract]:
    """Export `model` to `path` (written atomically, only if verification passes)."""
    options.validate(model.max_stride)
    path = Path(path)
    report = ExportReport(path=str(path))
    contract = build_contract(
        model,
        options.imgsz,
        options.outputs,
        options.uint8_input,
        "fp16" if options.half else "fp32",
        options.dynamic_batch,
        options.dynamic_shape,
        source_sha256,
        options.max_det,
        options.conf,
        options.iou,
    )
    reference = copy.deepcopy(model).float().eval()

    if options.report_unfused:
        unfused = trace_to_onnx(copy.deepcopy(reference), options, fused=False)
        report.stages["unfused"] = GraphStats.of(unfused)
    proto = trace_to_onnx(copy.deepcopy(reference), options, fused=options.fuse)
    report.stages["fused" if options.fuse else "exported"] = GraphStats.of(proto)
    if options.simplify:
        proto = simplify_onnx(proto)
        report.stages["simplified"] = GraphStats.of(proto)
    write_metadata(proto, contract)

    with atomic_output(path) as tmp:
        onnx.save(proto, str(tmp))
        report.file_bytes = tmp.stat().st_size
        if options.verify:
            result = verify_onnx(tmp, reference, contract, options.batch)
            report.verified, report.verify_detail = result.ok, result.detail
            report.max_abs_error, report.max_rel_error = result.max_abs_error, result.max_rel_error
            if not result.ok:
                raise VerificationError(f"{path.name} does not match PyTorch: {result.detail}", report)
    return report, contract


def trace_to_onnx(model: DetectionModel, options: OnnxExportOptions, fused: bool) -> onnx.ModelProto:
    """Trace `model` (modified in place: fused, folded, halved as asked) into an ONNX proto."""
    if fused:
        fuse_model(model)
    folded = fold_uint8_bgr_input(model) if options.uint8_input else False
    if options.half:
        model.half()
    wrapper = ExportWrapper(
        model, options.outputs, options.uint8_input, folded, options.conf, options.iou, options.max_det
    ).eval()
    h, w = options.imgsz
    if options.uint8_input:
        dummy = torch.zeros(options.batch, h, w, 3, dtype=torch.uint8)
    else:
        dummy = torch.zeros(options.batch, 3, h, w, dtype=torch.float16 if options.half else torch.float32)
    names = output_names(options.outputs, model.strides)
    buf = io.BytesIO()
    # Unfused means unfused: torch's exporter would otherwise fold Conv+BN itself in eval mode.
    mode = torch.onnx.TrainingMode.EVAL if fused else torch.onnx.TrainingMode.PRESERVE
    with warnings.catch_warnings(), torch.no_grad(), _single_node_mish(options.opset):
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # Our only advanced indexing gathers NMS selections, which are never negative.
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        # PRESERVE with an eval-mode model exports inference BN; folding constants there is safe.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
        try:
            torch.onnx.export(
                wrapper,
                (dummy,),
                buf,
                dynamo=False,
                opset_version=options.opset,
                input_names=["images"],
                output_names=names,
                dynamic_axes=_dynamic_axes(options, names) or None,
                do_constant_folding=True,
                training=mode,
            )
        except (RuntimeError, ValueError, torch.onnx.errors.OnnxExporterError) as exc:
            raise ExportError(f"torch.onnx.export failed: {str(exc).splitlines()[0]}") from exc
    return onnx.load_from_string(buf.getvalue())


@contextlib.contextmanager
def _single_node_mish(opset: int):
    """From opset 18 ONNX has a Mish op; torch's exporter would still emit Softplus, Tanh and Mul."""
    if opset < MISH_OPSET:
        yield
        return
    torch.onnx.register_custom_op_symbolic("aten::mish", lambda g, x: g.op("Mish", x), MISH_OPSET)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::mish", MISH_OPSET)


def _dynamic_axes(options: OnnxExportOptions, names: list[str]) -> dict[str, dict[int, str]]:
    axes: dict[str, dict[int, str]] = {}
    spatial = (1, 2) if options.uint8_input else (2, 3)
    image: dict[int, str] = {}
    if options.dynamic_batch:
        image[0] = "batch"
    if options.dynamic_shape:
        image.update({spatial[0]: "height", spatial[1]: "width"})
    if image:
        axes["images"] = image
    for name in names:
        out: dict[int, str] = {}
        if options.dynamic_batch:
            out[0] = "batch"
        if options.dynamic_shape and options.outputs == "raw":
            out.update({2: f"{name}_h", 3: f"{name}_w"})
        if options.dynamic_shape and options.outputs == "decoded":
            out[1] = "candidates"
        if out:
            axes[name] = out
    return axes


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C++ code that prints to the process's stdout/stderr (errors still raise)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        for fd, copy_ in zip((1, 2), saved, strict=True):
            os.dup2(copy_, fd)
            os.close(copy_)


def simplify_onnx(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Simplify with onnxsim (constant folding, dead-node removal), checking its own validation."""
    onnxsim = require("onnxsim", "export", "--simplify")
    try:
        with _quiet_stdout():  # onnxsim's C++ core prints "failed to run op, skip" for dynamic shapes
            simplified, ok = onnxsim.simplify(proto)
    except Exception as exc:  # onnxsim raises plain RuntimeErrors from C++ as well as Python errors
        raise ExportError(f"onnxsim failed ({exc}); retry with --no-simplify") from exc
    if not ok:
        raise ExportError("onnxsim could not validate the simplified model; retry with --no-simplify")
    return simplified
