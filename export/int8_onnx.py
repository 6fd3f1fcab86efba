"""`quantize_onnx`: static INT8 in QDQ form, the portable INT8 artifact (onnxruntime, OpenVINO, TensorRT).

Two quantizers write it:
- "nncf" (default): NNCF post-training quantization on the ONNX graph with fast bias correction. On the
  shipped MobileNetV2 model it loses 0.7 mAP50-95 points where onnxruntime's quantizer loses 13: bias
  correction repairs the shift INT8 rounding puts into depthwise convs, which onnxruntime does not do.
- "ort": `onnxruntime.quantization.quantize_static` with the minmax / entropy / percentile methods,
  per-channel weights; its activation ranges are cached as onnxruntime's calibration cache.

Where the Q/DQ pairs sit depends on the runtime that will run the file (`Int8Options.layout`, see
`int8_layout`): the default "onnxruntime" layout is the one onnxruntime fuses into QLinearConv; "openvino"
is NNCF's own layout, and "tensorrt" is that layout with symmetric, signed INT8.

Activations are asymmetric (better on CPUs) unless `symmetric` is asked for: TensorRT's explicit
quantization accepts only zero-point-0 (symmetric) INT8. The head's final convs and everything after them
stay in float by default: quantizing the logits squashes confidences. Results are cached under
`CalibrationSet.key`, so a second export with the same model, images, preprocessing and method reuses them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper

from edgeyolo.atomic import atomic_output
from edgeyolo.errors import EdgeYoloError, require
from edgeyolo.export.calibration import CalibrationSet, default_cache_dir
from edgeyolo.export.graph_scopes import head_nodes, name_unnamed_nodes, se_nodes
from edgeyolo.export.int8_layout import LAYOUT_VERSION, check_layout, onnxruntime_layout, write_layout
from edgeyolo.export.metadata import read_metadata, sha256_file, write_metadata
from edgeyolo.export.ort_graph import optimized_graph

METHODS = ("minmax", "entropy", "percentile")
QUANTIZERS = ("nncf", "ort")
_STRIDE_MAX = 16  # images per calibration pass: bounds the memory of collected activations


@dataclass
class Int8Options:
    quantizer: str = "nncf"
    method: str = "minmax"  # onnxruntime's calibration method (quantizer "ort")
    symmetric: bool = False  # symmetric activations (TensorRT needs them)
    per_channel: bool = True
    keep_head_float: bool = True
    exclude_se: bool = False
    cache_dir: Path | None = None
    # where NNCF's Q/DQ pairs sit (see int8_layout): onnxruntime | openvino | tensorrt; None = "tensorrt"
    # when symmetric, else "onnxruntime". The "ort" quantizer writes quantize_static's own placement.
    layout: str | None = None

    def resolved_layout(self) -> str:
        if self.quantizer == "ort":
            return "quantize_static"
        return self.layout or ("tensorrt" if self.symmetric else "onnxruntime")


@dataclass
class Int8Report:
    path: str
    method: str
    calibration_images: int
    cache_hit: bool
    excluded_nodes: list[str] = field(default_factory=list)
    quantized_nodes: int = 0
    file_bytes: int = 0
    layout: str = "onnxruntime"
    # the onnxruntime layout only: node types onnxruntime's optimized CPU graph runs (see ort_graph)
    onnxruntime_graph: dict[str, int] | None = None

    def format(self) -> str:
        hit = "reused the cached calibration" if self.cache_hit else "calibrated"
        return (
            f"INT8 (QDQ by {self.method}, {self.layout} layout, {hit} on {self.calibration_images} images): "
            f"{self.quantized_nodes} QuantizeLinear nodes, {len(self.excluded_nodes)} nodes kept in float, "
            f"{self.file_bytes / 1e6:.2f} MB{self._fused()}"
        )

    def _fused(self) -> str:
        g = self.onnxruntime_graph
        if g is None:
            return ""
        unfused = g["float_convs_on_dequantized_weights"]
        return f"; onnxruntime fuses {g['QLinearConv']} convs into QLinearConv" + (
            f", {unfused} stay float convs on dequantized weights (slower)" if unfused else ""
        )


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over lazily preprocessed images, with ranges."""

    def __init__(self, calib: CalibrationSet, preprocess: Callable, input_name: str, batch: int) -> None:
        self.calib, self.preprocess, self.input_name, self.batch = calib, preprocess, input_name, batch
        self.set_range(0, len(calib))

    def __len__(self) -> int:
        return len(self.calib)

    def set_range(self, start_index: int, end_index: int) -> None:
        part = CalibrationSet(self.calib.images[start_index:end_index], self.calib.source)
        self._iter = part.tensors(self.preprocess)

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._iter, None)
        if x is None:
            return None
        return {self.input_name: np.repeat(x, self.batch, 0) if self.batch > 1 else x}


def _stride(n: int) -> int:
    return max(d for d in range(1, min(n, _STRIDE_MAX) + 1) if n % d == 0)


def quantize_onnx(
    fp32_path: str | Path, out_path: str | Path, calib: CalibrationSet, options: Int8Options | None = None
) -> Int8Report:
    """Quantize a verified float32 edgeyolo ONNX file into a QDQ INT8 one (written atomically)."""
    from edgeyolo.runtime import Detector

    options = options or Int8Options()
    if options.quantizer not in QUANTIZERS:
        raise EdgeYoloError(f"quantizer must be one of {', '.join(QUANTIZERS)}, got {options.quantizer!r}")
    if options.method not in METHODS:
        raise EdgeYoloError(f"--calib-method must be one of {', '.join(METHODS)}, got {options.method!r}")
    if options.layout is not None:
        check_layout(options.layout, options.symmetric)
        if options.quantizer == "ort":
            raise EdgeYoloError(
                "an INT8 layout is where NNCF puts the Q/DQ pairs (quantizer nncf); quantizer ort has its own"
            )
        if options.layout == "tensorrt":
            options = dataclasses.replace(options, symmetric=True)  # TensorRT takes signed zero-point-0 INT8
    layout = options.resolved_layout()
    proto = onnx.load(str(fp32_path))
    contract = read_metadata(proto)
    if contract.precision != "fp32":
        raise EdgeYoloError(
            f"INT8 quantization starts from a float32 model; {fp32_path} is {contract.precision}"
        )
    name_unnamed_nodes(proto.graph)
    excluded = head_nodes(proto.graph) if options.keep_head_float else []
    if options.exclude_se:
        excluded += [n for n in se_nodes(proto.graph) if n not in excluded]
    first = proto.graph.input[0]
    dim0 = first.type.tensor_type.shape.dim[0]
    batch = dim0.dim_value if dim0.HasField("dim_value") else 1
    quantize = _quantize_nncf if options.quantizer == "nncf" else _quantize_ort
    method = "nncf" if options.quantizer == "nncf" else f"onnxruntime {options.method}"
    key = calib.key(
        sha256_file(fp32_path),
        contract,
        method,
        symmetric=options.symmetric,
        per_channel=options.per_channel,
        excluded=sorted(excluded),
        **({"layout": f"{layout}-{LAYOUT_VERSION}"} if layout == "onnxruntime" else {}),
    )
    cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgeYoloError(f"cannot use the calibration cache {cache_dir}: {exc.strerror or exc}") from exc
    with Detector(fp32_path, backend="onnxruntime") as reference:
        reader = _Reader(calib, lambda f: reference.preprocess(f)[0], first.name, batch)
        with contextlib.redirect_stdout(io.StringIO()), _quiet_root_logger():
            result, hit = quantize(proto, reader, excluded, options, cache_dir / key)
    write_metadata(result, dataclasses.replace(contract, precision="int8"))
    write_layout(result, layout)
    report = Int8Report(str(out_path), method, len(calib), hit, excluded, layout=layout)
    report.quantized_nodes = sum(n.op_type == "QuantizeLinear" for n in result.graph.node)
    with atomic_output(out_path) as tmp_out:
        onnx.save(result, str(tmp_out))
        onnx.checker.check_model(str(tmp_out), full_check=True)
        report.file_bytes = tmp_out.stat().st_size
        if layout == "onnxruntime":
            ran = optimized_graph(tmp_out)
            report.onnxruntime_graph = {
                "QLinearConv": ran.ops["QLinearConv"],
                "float_convs_on_dequantized_weights": len(ran.float_convs_on_dequantized_weights),
                "DequantizeLinear": ran.ops["DequantizeLinear"],
            }
    return report


def _quantize_nncf(proto, reader: _Reader, excluded: list[str], options: Int8Options, cache: Path):
    """NNCF PTQ (fast bias correction); the quantized model itself is the cached result."""
    cached = cache.with_name(f"nncf-{cache.name}.onnx")
    if cached.is_file():
        return onnx.load(str(cached)), True
    data = list(iter(reader.get_next, None))
    for_onnxruntime = options.resolved_layout() == "onnxruntime"
    result = nncf_quantize(proto, data, excluded, options.symmetric, per_tensor_activations=for_onnxruntime)
    if for_onnxruntime:
        onnxruntime_layout(result, data)
    if options.symmetric:
        signed_int8(result)
    with atomic_output(cached) as tmp:
        onnx.save(result, str(tmp))
    return result, False


def nncf_quantize(
    model, data: list, ignored: list[str], symmetric: bool = False, per_tensor_activations: bool = False
):
    """NNCF post-training quantization (fast bias correction) of an ONNX proto or an OpenVINO model.

    Preset MIXED (asymmetric activations) unless `symmetric`; `ignored` names stay in float.
    `per_tensor_activations` forbids per-channel activation scales (onnxruntime's QLinearConv needs one)."""
    nncf = require("nncf", "export", "INT8 quantization with NNCF")
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, QuantizationParameters

    logging.getLogger("nncf").setLevel(logging.WARNING)
    preset = nncf.QuantizationPreset.PERFORMANCE if symmetric else nncf.QuantizationPreset.MIXED
    per_tensor = QuantizationParameters(per_channel=False) if per_tensor_activations else None
    advanced = AdvancedQuantizationParameters(activations_quantization_params=per_tensor)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # progress bars would break --json output
            return nncf.quantize(
                model,
                nncf.Dataset(data),
                preset=preset,
                subset_size=len(data),
                fast_bias_correction=True,
                ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
                advanced_parameters=advanced,
            )
    except Exception as exc:  # NNCF wraps backend failures in assorted exception types
        raise EdgeYoloError(f"NNCF quantization failed: {exc}") from exc


def signed_int8(proto: onnx.ModelProto) -> None:
    """Rewrite zero-point-0 uint8 Q/DQ pairs as int8 (in place): TensorRT's parser takes int8 Q/DQ only.

    NNCF's symmetric preset still quantizes non-negative tensors (after ReLU) to uint8 [0, 255] with zero
    point 0; as int8 the same range needs a scale 255/127 times larger (one bit less precision, which is
    what symmetric INT8 costs TensorRT anyway).
    """
    init = {t.name: t for t in proto.graph.initializer}
    done: set[str] = set()
    for node in proto.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") or len(node.input) < 3:
            continue
        scale_name, zp_name = node.input[1], node.input[2]
        if zp_name in done or zp_name not in init:
            continue
        zp = onnx.numpy_helper.to_array(init[zp_name])
        if zp.dtype != np.uint8:
            continue
        if zp.any():
            raise EdgeYoloError(f"{node.name}: asymmetric uint8 quantization cannot become symmetric int8")
        scale = onnx.numpy_helper.to_array(init[scale_name]) * np.float32(255 / 127)
        init[zp_name].CopyFrom(onnx.numpy_helper.from_array(zp.astype(np.int8), zp_name))
        init[scale_name].CopyFrom(onnx.numpy_helper.from_array(scale.astype(np.float32), scale_name))
        done.add(zp_name)
    retyped = done | {n.output[0] for n in proto.graph.node if n.op_type == "QuantizeLinear"}
    for info in proto.graph.value_info:
        if info.name in retyped and info.type.tensor_type.elem_type == onnx.TensorProto.UINT8:
            info.type.tensor_type.elem_type = onnx.TensorProto.INT8


def _quantize_ort(proto, reader: _Reader, excluded: list[str], options: Int8Options, cache: Path):
    """onnxruntime's quantize_static; its calibration cache (activation ranges) is kept."""
    quant = require("onnxruntime.quantization", "export", "INT8 quantization")
    ranges_cache = cache.with_name(f"ort-{cache.name}.json")
    hit = ranges_cache.is_file()
    with tempfile.TemporaryDirectory(prefix="edgeyolo-int8-") as tmp:
        named, quantized = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(proto, str(named))
        ranges = ranges_cache if hit else Path(tmp) / "ranges.json"
        activations = quant.QuantType.QInt8 if options.symmetric else quant.QuantType.QUInt8
        try:
            quant.quantize_static(
                str(named),
                str(quantized),
                reader,
                quant_format=quant.QuantFormat.QDQ,
                activation_type=activations,
                weight_type=quant.QuantType.QInt8,
                per_channel=options.per_channel,
                calibrate_method=_method(quant, options.method),
                nodes_to_exclude=excluded,
                calibration_cache_path=str(ranges),
                extra_options={
                    "ActivationSymmetric": options.symmetric,
                    "WeightSymmetric": True,
                    "CalibStridedMinMax": _stride(len(reader)),
                },
            )
        except EdgeYoloError:
            raise
        except Exception as exc:  # onnxruntime raises plain Exceptions from calibration and C++
            raise EdgeYoloError(f"INT8 quantization failed: {exc}") from exc
        if not hit:
            os.replace(ranges, ranges_cache)  # a finished calibration only: never a half-written cache
        return onnx.load(str(quantized)), hit


@contextlib.contextmanager
def _quiet_root_logger():
    """onnxruntime.quantization logs advice through the root logger; keep the CLI output readable."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _method(quant, name: str):
    return {
        "minmax": quant.CalibrationMethod.MinMax,
        "entropy": quant.CalibrationMethod.Entropy,
        "percentile": quant.CalibrationMethod.Percentile,
    }[name]
