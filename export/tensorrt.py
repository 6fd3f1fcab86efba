"""TensorRT engines from a verified ONNX: validation, EfficientNMS graph surgery, build, sidecar, verify.

Written against the TensorRT 10 Python API (networks are always explicit-batch). TensorRT and
cuda-python are imported only inside `build_engine` / `verify_engine`; everything else here runs anywhere.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeyolo.atomic import atomic_output
from edgeyolo.errors import FailedError
from edgeyolo.export.metadata import read_metadata, sha256_file, write_metadata
from edgeyolo.export.onnx import ExportError
from edgeyolo.export.verify import reference_nms
from edgeyolo.runtime.backends.tensorrt_sidecar import (
    EngineRecord,
    TensorRTEnv,
    rebuild_command,
    sidecar_path,
)
from edgeyolo.runtime.contract import Contract

TRT_PRECISIONS = ("fp32", "fp16", "int8")
# Verification tolerance: max |engine - onnxruntime| relative to the output's scale max(1, max|ref|).
TOLERANCE = {"fp32": 1e-3, "fp16": 1e-2}
# Share of reference detections an `nms` engine must reproduce (near-ties may flip greedy choices).
NMS_MATCH = {"fp32": 0.98, "fp16": 0.9}
DEFAULT_MAX_BATCH = 8  # a dynamic-batch profile's default upper end
PLUGIN_DOMAIN = "TRT"
INSTALL = "pip install 'edgeyolo[tensorrt]' (on Jetson, TensorRT comes with JetPack)"


class TensorRTVerificationError(FailedError):
    """The engine does not agree with the ONNX it was built from; nothing was written."""


@dataclass
class TensorRTOptions:
    """How to build an engine. Profile values left None are derived from the ONNX's contract."""

    precision: str = "fp32"  # fp32 | fp16 | int8 (int8: explicit quantization from a QDQ ONNX)
    workspace_gb: float = 4.0
    dla_core: int | None = None  # Jetson DLA core; layers DLA cannot run fall back to the GPU
    batch: int = 1  # the profile's optimum batch
    min_batch: int | None = None  # dynamic batch only (default 1)
    max_batch: int | None = None  # dynamic batch only (default max(batch, 8))
    min_imgsz: tuple[int, int] | None = None  # dynamic shape only (default: largest stride, square)
    max_imgsz: tuple[int, int] | None = None  # dynamic shape only (default: the contract's imgsz)
    timing_cache: str | Path | None = None  # None: a per-GPU cache under the user cache dir
    use_timing_cache: bool = True
    nms: bool = False  # append EfficientNMS_TRT to a `decoded` ONNX (`--outputs nms`)
    max_det: int = 300
    conf: float = 0.25
    iou: float = 0.45
    verify: bool = True
    device: int = 0  # CUDA device that builds (and so is timed)


# -- validation (no TensorRT needed) ---------------------------------------------------------------
def qdq_node_count(model: str | Path | onnx.ModelProto) -> int:
    """Number of QuantizeLinear / DequantizeLinear nodes (explicit quantization) in an ONNX model."""
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model), load_external_data=False)
    return sum(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in proto.graph.node)


def check_tensorrt_request(
    options: TensorRTOptions, contract: Contract, onnx_model: str | Path | onnx.ModelProto | None = None
) -> None:
    """Refuse option combinations TensorRT cannot build, before any long work (raises ExportError)."""
    o = options
    if o.precision not in TRT_PRECISIONS:
        raise ExportError(
            f"TensorRT precision must be one of {', '.join(TRT_PRECISIONS)}, got {o.precision!r}"
        )
    if not (
        isinstance(o.workspace_gb, (int, float)) and math.isfinite(o.workspace_gb) and o.workspace_gb > 0
    ):
        raise ExportError(f"--workspace must be a positive number of GB, got {o.workspace_gb!r}")
    if o.dla_core is not None:
        if isinstance(o.dla_core, bool) or not isinstance(o.dla_core, int) or o.dla_core < 0:
            raise ExportError(f"--dla takes a DLA core number (0, 1, …), got {o.dla_core!r}")
        if o.precision == "fp32":
            raise ExportError("DLA runs FP16 or INT8 only: add --fp16 (or --int8) to use --dla")
    if onnx_model is not None:
        qdq = qdq_node_count(onnx_model)
        if o.precision == "int8" and not qdq:
            raise ExportError(
                "--int8 TensorRT engines use explicit quantization: build them from a QDQ ONNX "
                "(`edgeyolo export --format onnx --int8 --data …`); this ONNX has no Q/DQ nodes"
            )
        if o.precision != "int8" and qdq:
            raise ExportError(f"this ONNX is quantized ({qdq} Q/DQ nodes): build it with --int8")
    _check_profile(o, contract)
    if o.nms:
        if contract.outputs != "decoded":
            raise ExportError(
                "--outputs nms for TensorRT appends the EfficientNMS_TRT plugin to an ONNX exported with "
                f"--outputs decoded; this one has outputs={contract.outputs!r}"
            )
        if o.max_det < 1 or not 0 < o.conf < 1 or not 0 < o.iou <= 1:
            raise ExportError("EfficientNMS needs --max-det >= 1, 0 < --conf < 1 and 0 < --iou <= 1")


def _check_profile(o: TensorRTOptions, contract: Contract) -> None:
    if not contract.dynamic_batch and (o.min_batch is not None or o.max_batch is not None):
        raise ExportError("a batch range needs an ONNX with a dynamic batch: export it with --dynamic batch")
    if not contract.dynamic_shape and (o.min_imgsz is not None or o.max_imgsz is not None):
        raise ExportError(
            "an image-size range needs an ONNX with dynamic shapes: export it with --dynamic shape"
        )
    if contract.dynamic_batch:
        low, opt, high = _batch_range(o)
        if not 1 <= low <= opt <= high:
            raise ExportError(f"batch profile must satisfy 1 <= min <= opt <= max, got {low}, {opt}, {high}")
    elif o.batch < 1:
        raise ExportError(f"--batch must be >= 1, got {o.batch}")
    if contract.dynamic_shape:
        stride = max(contract.strides)
        low, opt, high = _size_range(o, contract)
        for size in (low, high):
            if len(size) != 2 or min(size) <= 0 or size[0] % stride or size[1] % stride:
                raise ExportError(f"profile image size {size} must be positive multiples of stride {stride}")
        if not all(a <= b <= c for a, b, c in zip(low, opt, high, strict=True)):
            raise ExportError(
                f"image-size profile must satisfy min <= opt <= max in each axis, got {low}, {opt}, {high}"
            )


def _batch_range(o: TensorRTOptions) -> tuple[int, int, int]:
    low = 1 if o.min_batch is None else o.min_batch
    high = max(o.batch, DEFAULT_MAX_BATCH) if o.max_batch is None else o.max_batch
    return low, o.batch, high


def _size_range(o: TensorRTOptions, contract: Contract) -> tuple[tuple[int, int], ...]:
    stride = max(contract.strides)
    opt = tuple(contract.imgsz)
    low = tuple(o.min_imgsz) if o.min_imgsz is not None else (stride, stride)
    high = tuple(o.max_imgsz) if o.max_imgsz is not None else opt
    return low, opt, high


def profile_shapes(options: TensorRTOptions, contract: Contract) -> tuple[tuple[int, ...], ...] | None:
    """(min, opt, max) input shapes of the optimization profile, or None for a static ONNX."""
    if not (contract.dynamic_batch or contract.dynamic_shape):
        return None
    batches = _batch_range(options) if contract.dynamic_batch else (options.batch,) * 3
    sizes = _size_range(options, contract) if contract.dynamic_shape else (tuple(contract.imgsz),) * 3
    nhwc = contract.input == "uint8-nhwc-bgr"
    return tuple((b, h, w, 3) if nhwc else (b, 3, h, w) for b, (h, w) in zip(batches, sizes, strict=True))


# -- EfficientNMS_TRT graph surgery ----------------------------------------------------------------
def nms_contract(contract: Contract, max_det: int, conf: float, iou: float) -> Contract:
    """The contract of a model whose NMS is baked in with these thresholds."""
    return dataclasses.replace(contract, outputs="nms", max_det=max_det, nms_conf=conf, nms_iou=iou)


def add_efficient_nms(
    proto: onnx.ModelProto, contract: Contract, max_det: int, conf: float, iou: float
) -> onnx.ModelProto:
    """A copy of a `decoded` model ([B, N, 5+nc]) ending in EfficientNMS_TRT, with the `nms` layout
    outputs `detections` [B, max_det, 6] (x1, y1, x2, y2, score, class; zero beyond num_dets) and
    `num_dets` [B] int64, and its contract record updated. Like our ONNX `nms` graphs, each box takes
    part in class-aware NMS with its best class only."""
    if contract.outputs != "decoded" or len(proto.graph.output) != 1:
        raise ExportError(
            "EfficientNMS needs a model exported with --outputs decoded (one [B, N, 5+nc] output)"
        )
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        raise ExportError(f"EfficientNMS surgery needs opset >= 13, this model has {opset}")
    source = graph.output[0]
    batch_dim = source.type.tensor_type.shape.dim[0]
    nodes: list[onnx.NodeProto] = []

    def const(name: str, array: np.ndarray) -> str:
        graph.initializer.append(numpy_helper.from_array(array, f"trt_nms/{name}"))
        return f"trt_nms/{name}"

    def node(op: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    i64 = np.int64
    pred = node("Cast", [source.name], "trt_nms/pred", to=TensorProto.FLOAT)
    axis = const("axis2", np.array([2], i64))
    boxes = node(
        "Slice",
        [pred, const("s0", np.array([0], i64)), const("s4", np.array([4], i64)), axis],
        "trt_nms/boxes_xywh",
    )
    obj = node(
        "Slice",
        [pred, const("s4b", np.array([4], i64)), const("s5", np.array([5], i64)), axis],
        "trt_nms/objectness",
    )
    cls = node(
        "Slice",
        [pred, const("s5b", np.array([5], i64)), const("end", np.array([2**62], i64)), axis],
        "trt_nms/class_probs",
    )
    scores = node("Mul", [cls, obj], "trt_nms/scores_all")
    if opset >= 18:
        best = node("ReduceMax", [scores, axis], "trt_nms/best", keepdims=1)
    else:
        best = node("ReduceMax", [scores], "trt_nms/best", axes=[2], keepdims=1)
    is_best = node("Equal", [scores, best], "trt_nms/is_best")
    zero = const("zero", np.array(0.0, np.float32))
    best_only = node("Where", [is_best, scores, zero], "trt_nms/scores")
    plugin_out = [
        "trt_nms/num_detections",
        "trt_nms/detection_boxes",
        "trt_nms/detection_scores",
        "trt_nms/detection_classes",
    ]
    nodes.append(
        helper.make_node(
            "EfficientNMS_TRT",
            [boxes, best_only],
            plugin_out,
            name="trt_nms/EfficientNMS_TRT",
            domain=PLUGIN_DOMAIN,
            background_class=-1,
            box_coding=1,  # boxes are center-size (x, y, w, h); the plugin outputs corners
            iou_threshold=float(iou),
            max_output_boxes=int(max_det),
            score_threshold=float(conf),
            score_activation=0,
            class_agnostic=0,
            plugin_version="1",
        )
    )
    num, det_boxes, det_scores, det_classes = plugin_out
    score_col = node("Unsqueeze", [det_scores, axis], "trt_nms/score_col")
    cls_float = node("Cast", [det_classes], "trt_nms/classes_f", to=TensorProto.FLOAT)
    cls_col = node("Unsqueeze", [cls_float, axis], "trt_nms/class_col")
    packed = node("Concat", [det_boxes, score_col, cls_col], "trt_nms/packed", axis=2)
    # Rows past num_detections are zeroed, as in our ONNX `nms` graphs.
    slots = const("slots", np.arange(max_det, dtype=np.int32)[None])
    valid = node("Less", [slots, num], "trt_nms/valid")
    valid_f = node("Cast", [valid], "trt_nms/valid_f", to=TensorProto.FLOAT)
    valid_col = node("Unsqueeze", [valid_f, axis], "trt_nms/valid_col")
    node("Mul", [packed, valid_col], "detections")
    flat = node("Reshape", [num, const("flat", np.array([-1], i64))], "trt_nms/num_flat")
    node("Cast", [flat], "num_dets", to=TensorProto.INT64)
    graph.node.extend(nodes)

    b = batch_dim.dim_param or batch_dim.dim_value or "batch"
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info("detections", TensorProto.FLOAT, [b, max_det, 6]),
            helper.make_tensor_value_info("num_dets", TensorProto.INT64, [b]),
        ]
    )
    graph.value_info.extend(
        [
            helper.make_tensor_value_info(num, TensorProto.INT32, [b, 1]),
            helper.make_tensor_value_info(det_boxes, TensorProto.FLOAT, [b, max_det, 4]),
            helper.make_tensor_value_info(det_scores, TensorProto.FLOAT, [b, max_det]),
            helper.make_tensor_value_info(det_classes, TensorProto.INT32, [b, max_det]),
        ]
    )
    if not any(o.domain == PLUGIN_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(PLUGIN_DOMAIN, 1))
    write_metadata(model, nms_contract(contract, max_det, conf, iou))
    return model


# -- build ----------------------------------------------------------------------------------------
def default_timing_cache(env: TensorRTEnv) -> Path:
    """A timing cache shared by every build on this GPU and TensorRT version (tactic timings are
    per-layer, so they carry over between models)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeyolo" / "tensorrt"
    gpu = "".join(c if c.isalnum() else "-" for c in env.gpu_name).strip("-")
    return base / f"timing-trt{env.tensorrt_version}-sm{env.compute_capability}-{gpu}.cache"


def require_tensorrt():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise ExportError(f"--format trt needs TensorRT, which is not installed: {INSTALL}") from exc
    return trt


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    options: TensorRTOptions,
    contract: Contract | None = None,
    rebuild: str = "",
) -> dict:
    """Build a plan from `onnx_path` and write it (atomically, only if verification passes) with its
    sidecar `<engine>.json`. `rebuild` is the command line to record for rebuilding on another device.
    Returns a report dict (the sidecar's fields plus paths, timing cache and verification)."""
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    source = onnx.load(str(onnx_path))
    contract = contract or read_metadata(source)
    check_tensorrt_request(options, contract, source)
    trt = require_tensorrt()
    from edgeyolo.runtime.backends.base import BackendError
    from edgeyolo.runtime.backends.tensorrt_sidecar import probe_env

    try:
        env = probe_env(options.device)
    except BackendError as exc:  # cuda-python missing, or no usable GPU
        raise ExportError(f"--format trt: {exc}") from exc
    if options.dla_core is not None and options.dla_core >= env.dla_cores:
        raise ExportError(f"--dla {options.dla_core}: this device has {env.dla_cores or 'no'} DLA cores")
    built = contract
    if options.nms:
        source = add_efficient_nms(source, contract, options.max_det, options.conf, options.iou)
        built = read_metadata(source)
    built = dataclasses.replace(built, precision=options.precision)

    start = time.perf_counter()
    logger = trt.Logger(trt.Logger.WARNING)
    trt.init_libnvinfer_plugins(logger, "")
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: always explicit batch
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(source.SerializeToString(), str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT's ONNX parser rejected {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_gb * (1 << 30)))
    if options.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # int8: layers left in float may still run in fp16
    if options.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # scales come from the Q/DQ nodes: no calibrator
    if options.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = options.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    shapes = profile_shapes(options, contract)
    input_name = network.get_input(0).name
    if shapes is not None:
        profile = builder.create_optimization_profile()
        profile.set_shape(input_name, *shapes)
        config.add_optimization_profile(profile)
    cache_path = None
    if options.use_timing_cache:
        cache_path = Path(options.timing_cache) if options.timing_cache else default_timing_cache(env)
        blob = cache_path.read_bytes() if cache_path.is_file() else b""
        config.set_timing_cache(config.create_timing_cache(blob), False)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ExportError(f"TensorRT could not build an engine from {onnx_path.name} (see its log above)")
    build_seconds = time.perf_counter() - start
    if cache_path is not None:
        with atomic_output(cache_path) as tmp:
            tmp.write_bytes(bytes(config.get_timing_cache().serialize()))

    def specs(tensors) -> tuple[dict, ...]:
        return tuple(
            {"name": t.name, "dtype": np.dtype(trt.nptype(t.dtype)).name, "shape": [int(d) for d in t.shape]}
            for t in tensors
        )

    record = EngineRecord(
        contract=built,
        tensorrt_version=env.tensorrt_version,
        gpu_name=env.gpu_name,
        compute_capability=env.compute_capability,
        precision=options.precision,
        onnx_sha256=sha256_file(onnx_path),
        engine_sha256="",
        dla_core=options.dla_core,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        build_seconds=round(build_seconds, 3),
        workspace_gb=float(options.workspace_gb),
        profile={input_name: [list(s) for s in shapes]} if shapes else {},
        inputs=specs(network.get_input(i) for i in range(network.num_inputs)),
        outputs=specs(network.get_output(i) for i in range(network.num_outputs)),
    )
    report: dict = {"path": str(engine_path), "sidecar": str(sidecar_path(engine_path))}
    with atomic_output(engine_path) as tmp:
        tmp.write_bytes(bytes(plan))
        record = dataclasses.replace(
            record,
            engine_sha256=sha256_file(tmp),
            rebuild=rebuild or rebuild_command(record, output=str(engine_path)),
        )
        report["file_bytes"] = tmp.stat().st_size
        if options.verify:
            result = verify_engine(tmp, onnx_path, record, batch=_verify_batch(source, options))
            report.update(verified=result["ok"], verify_detail=result["detail"])
            if not result["ok"]:
                raise TensorRTVerificationError(
                    f"{engine_path.name} does not match the ONNX: {result['detail']}"
                )
        with atomic_output(sidecar_path(engine_path)) as side:
            side.write_text(record.to_json(), encoding="utf-8")
    report.update(timing_cache=str(cache_path) if cache_path else None)
    report.update({k: v for k, v in dataclasses.asdict(record).items() if k != "contract"})
    return report


def _verify_batch(proto: onnx.ModelProto, options: TensorRTOptions) -> int:
    """A static ONNX batch is the only one its engine takes; a dynamic one is checked at the profile's opt."""
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    return dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else options.batch


# -- verification ---------------------------------------------------------------------------------
def compare_outputs(got: list[np.ndarray], ref: list[np.ndarray], precision: str) -> dict:
    """Max error of engine outputs vs onnxruntime's, relative to the output scale, against the
    precision's tolerance. INT8 is judged by mAP elsewhere, so it only needs finite, same-shape outputs."""
    if len(got) != len(ref) or any(g.shape != r.shape for g, r in zip(got, ref, strict=False)):
        shapes = [g.shape for g in got], [r.shape for r in ref]
        return {
            "ok": False,
            "max_rel_error": math.inf,
            "detail": f"output shapes differ (engine, onnx): {shapes}",
        }
    worst = 0.0
    for g, r in zip(got, ref, strict=True):
        g, r = g.astype(np.float32), r.astype(np.float32)
        if not np.isfinite(g).all():
            return {"ok": False, "max_rel_error": math.inf, "detail": "engine output holds non-finite values"}
        if r.size:
            worst = max(worst, float(np.abs(g - r).max()) / max(1.0, float(np.abs(r).max())))
    if precision == "int8":
        return {"ok": True, "max_rel_error": worst, "detail": f"{worst:.3g} of output scale (int8: see mAP)"}
    tol = TOLERANCE[precision]
    detail = f"max error {worst:.3g} of output scale (tolerance {tol:g})"
    return {"ok": worst <= tol, "max_rel_error": worst, "detail": detail}


def match_fraction(mine: np.ndarray, ref: np.ndarray, tol: float) -> float:
    """Share of `ref` detections ([K, 6]) that `mine` reproduces: same class, score and coordinates
    within `tol` of the box scale (each of `mine` used once). 1.0 when both are empty."""
    if len(ref) == 0:
        return 1.0 if len(mine) == 0 else 0.0
    scale = max(1.0, float(np.abs(ref[:, :4]).max()))
    used = np.zeros(len(mine), dtype=bool)
    hits = 0
    for row in ref:
        if not len(mine):
            break
        ok = (
            (mine[:, 5] == row[5])
            & (np.abs(mine[:, :4] - row[:4]).max(1) <= tol * scale)
            & (np.abs(mine[:, 4] - row[4]) <= tol)
            & ~used
        )
        idx = np.nonzero(ok)[0]
        if len(idx):
            used[idx[0]] = True
            hits += 1
    return hits / max(len(ref), len(mine))


def verify_engine(
    engine_path: str | Path, onnx_path: str | Path, record: EngineRecord, batch: int = 1, device: str = "cuda"
) -> dict:
    """Run the engine and the source ONNX (onnxruntime, CPU) on one fixed input and compare:
    raw/decoded outputs within the precision's tolerance; `nms` engines against the runtime's NMS on
    the ONNX's decoded outputs. Needs TensorRT and a GPU. Returns {"ok", "detail", ...}."""
    from edgeyolo.export.verify import fixed_input, run_onnx  # imports torch: keep it out of module import
    from edgeyolo.runtime.backends.tensorrt_backend import TensorRTBackend

    onnx_contract = read_metadata(onnx.load(str(onnx_path), load_external_data=False))
    x = fixed_input(onnx_contract, batch)
    ref = run_onnx(onnx_path, x)
    backend = TensorRTBackend(engine_path, device=device, record=record)
    try:
        if x.dtype != backend.input_dtype:
            return {"ok": False, "detail": f"engine takes {backend.input_dtype}, the ONNX {x.dtype}"}
        got = backend.infer(x)
    finally:
        backend.close()
    c = record.contract
    if c.outputs != "nms" or onnx_contract.outputs == "nms":
        return compare_outputs(got, ref, record.precision)
    if record.precision == "int8":
        return {"ok": True, "detail": "int8 nms engine: accuracy is checked by mAP"}
    expected = reference_nms(ref[0], c.nms_conf or 0.0, c.nms_iou or 0.45, c.max_det)
    dets, num = got[0], got[1]
    shares = [
        match_fraction(dets[b, : int(num[b])].astype(np.float32), expected[b], TOLERANCE[record.precision])
        for b in range(len(expected))
    ]
    worst = min(shares)
    need = NMS_MATCH[record.precision]
    counts = ", ".join(f"{int(n)}/{len(e)}" for n, e in zip(num, expected, strict=True))
    return {
        "ok": worst >= need,
        "detail": f"{worst:.0%} of the runtime NMS detections reproduced "
        f"(need {need:.0%}; engine/ref {counts})",
    }
