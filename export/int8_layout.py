"""Where the Q/DQ pairs of an INT8 QDQ graph sit, per target runtime.

The QDQ graph is one file format, but each runtime only turns some Q/DQ patterns into integer kernels:
- "openvino" and "tensorrt": NNCF's own layout. Q/DQ on each conv's *input*, after the activation
  (`Conv → SiLU → Q → DQ → Conv`): both compilers fuse conv + activation and read the Q/DQ as the next conv's
  input quantizer. TensorRT also needs signed, zero-point-0 INT8 (`Int8Options.symmetric`).
- "onnxruntime": onnxruntime's CPU fusions make `QLinearConv` only from `DQ → Conv → Q` with per-tensor
  activation scales and the same element type on both sides. NNCF's layout gives it `Conv → SiLU → Q`
  (no Q right after the conv), per-channel activation scales before depthwise convs, and a mix of int8 and
  uint8 activations, so most convs stay float convs fed by DequantizeLinear (slower than FP32). This
  layout quantizes activations per tensor, rewrites every activation Q/DQ as uint8 (the same grid: zero
  point + 128), adds a Q/DQ pair on each quantized conv's output before its activation (SiLU, HardSwish,
  Mish, LeakyReLU: range searched on the calibration images through the quantized graph; ReLU needs none,
  onnxruntime folds it) and after float Concats that feed quantized convs, and
  quantizes the SiLU's Sigmoid on the [0, 1] grid, so the SiLU runs as QLinearSigmoid + QLinearMul.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import onnx
import onnx.numpy_helper

from edgeyolo.errors import EdgeYoloError
from edgeyolo.runtime.int8_advice import INT8_LAYOUT_KEY

LAYOUTS = ("onnxruntime", "openvino", "tensorrt")
LAYOUT_VERSION = 2  # part of the calibration cache key: a changed rewrite must not reuse older results
_SAMPLES_PER_IMAGE = 1024  # values kept per tensor and image for the range search


def check_layout(layout: str, symmetric: bool) -> None:
    """Refuse an unknown layout, and the onnxruntime layout with symmetric (TensorRT) activations."""
    if layout not in LAYOUTS:
        raise EdgeYoloError(f"INT8 layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout == "onnxruntime" and symmetric:
        raise EdgeYoloError(
            "the onnxruntime INT8 layout uses asymmetric uint8 activations; "
            "symmetric INT8 is the tensorrt layout"
        )


def write_layout(proto: onnx.ModelProto, layout: str) -> None:
    """Record the layout in the file's metadata (replacing an older record)."""
    keep = [p for p in proto.metadata_props if p.key != INT8_LAYOUT_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    proto.metadata_props.add(key=INT8_LAYOUT_KEY, value=layout)


def read_layout(path_or_proto) -> str | None:
    """The INT8 layout recorded in an ONNX file (a path or a loaded proto), or None."""
    proto = path_or_proto
    if not isinstance(proto, onnx.ModelProto):
        proto = onnx.load(str(path_or_proto), load_external_data=False)
    return next((p.value for p in proto.metadata_props if p.key == INT8_LAYOUT_KEY), None)


def unsigned_activations(proto: onnx.ModelProto) -> int:
    """Rewrite asymmetric int8 activation Q/DQ pairs as uint8 on the same grid (in place); returns how many.

    int8 with zero point z covers scale·([-128, 127] - z); uint8 with zero point z + 128 covers the same
    values, so nothing changes numerically. Weights (initializers fed straight into a DequantizeLinear)
    stay int8, as onnxruntime's QLinearConv wants them."""
    init = {t.name: t for t in proto.graph.initializer}
    quantized_outputs = {n.output[0]: n for n in proto.graph.node if n.op_type == "QuantizeLinear"}
    done: set[str] = set()
    for node in proto.graph.node:
        if node.op_type != "QuantizeLinear" or len(node.input) < 3 or node.input[0] in init:
            continue
        zp_name = node.input[2]
        if zp_name in done or zp_name not in init:
            continue
        zp = onnx.numpy_helper.to_array(init[zp_name])
        if zp.dtype != np.int8:
            continue
        shifted = (zp.astype(np.int16) + 128).astype(np.uint8)
        init[zp_name].CopyFrom(onnx.numpy_helper.from_array(shifted, zp_name))
        done.add(zp_name)
    retyped = done | {name for name, q in quantized_outputs.items() if q.input[2] in done}
    kept = [info for info in proto.graph.value_info if info.name not in retyped]
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(kept)
    return len(done)


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    users: dict[str, list[onnx.NodeProto]] = {}
    for n in graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    return users


def _quantized_conv(node: onnx.NodeProto, producer: dict[str, onnx.NodeProto]) -> bool:
    weight = producer.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
    return weight is not None and weight.op_type == "DequantizeLinear"


def unquantized_conv_outputs(graph: onnx.GraphProto) -> list[tuple[onnx.NodeProto, Callable]]:
    """Convs with quantized weights whose output onnxruntime cannot see quantized, each with the activation
    that follows it (numpy; identity when none is recognised).

    onnxruntime fuses a conv into QLinearConv when a QuantizeLinear follows it, directly or through a ReLU
    (which it folds into the quantization). Anything else between conv and QuantizeLinear (SiLU, HardSwish,
    Mish, LeakyReLU, ...), or a conv output read in float, leaves a float conv on dequantized weights.
    Graph outputs are left alone."""
    producer = {o: n for n in graph.node for o in n.output}
    consumers = _consumers(graph)
    outputs = {o.name for o in graph.output}

    def quantized_next(name: str) -> bool:
        users = consumers.get(name, [])
        return bool(users) and all(u.op_type == "QuantizeLinear" for u in users)

    found = []
    for conv in graph.node:
        if not _quantized_conv(conv, producer) or conv.output[0] in outputs:
            continue
        users = consumers.get(conv.output[0], [])
        if quantized_next(conv.output[0]):
            continue
        if len(users) == 1 and users[0].op_type in ("Relu", "Clip") and quantized_next(users[0].output[0]):
            continue
        found.append((conv, _activation(users)))
    return found


def _activation(users: list[onnx.NodeProto]) -> Callable:
    """The elementwise activation a conv's consumers apply to its output, as a numpy function."""
    ops = sorted(u.op_type for u in users)
    if ops == ["Mul", "Sigmoid"]:
        return _silu
    if ops == ["HardSigmoid", "Mul"] or ops == ["HardSwish"]:
        return lambda x: x * np.clip(x / 6 + 0.5, 0, 1)
    if ops == ["Mish"] or ops == ["Mul", "Softplus"]:
        return lambda x: x * np.tanh(np.logaddexp(0, x))
    if ops == ["LeakyRelu"]:
        alpha = next((a.f for a in users[0].attribute if a.name == "alpha"), 0.01)
        return lambda x: np.where(x > 0, x, alpha * x)
    return lambda x: x


def float_concats(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Concats (left in float by NNCF) that feed only convs with quantized weights: onnxruntime needs a
    Q/DQ pair between them to see the conv's quantized input."""
    producer = {o: n for n in graph.node for o in n.output}
    consumers = _consumers(graph)
    found = []
    for node in graph.node:
        if node.op_type != "Concat":
            continue
        users = consumers.get(node.output[0], [])
        if users and all(_quantized_conv(u, producer) for u in users):
            found.append(node)
    return found


def tensor_samples(proto: onnx.ModelProto, names: list[str], data: Iterable[dict]) -> dict[str, np.ndarray]:
    """A fixed random sample of each named tensor's values over the calibration inputs (run by onnxruntime),
    with each tensor's minimum and maximum always included."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    known = {o.name for o in probe.graph.output}
    for name in names:
        if name not in known:
            probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for feed in data:
        for name, value in zip(names, session.run(names, feed), strict=True):
            flat = value.ravel()
            pick = rng.integers(0, flat.size, min(flat.size, _SAMPLES_PER_IMAGE))
            parts[name].append(np.concatenate([flat[pick], [flat.min(), flat.max()]]))
    if any(not p for p in parts.values()):
        raise EdgeYoloError("INT8 layout: no calibration images to measure tensor ranges on")
    return {n: np.concatenate(p).astype(np.float32) for n, p in parts.items()}


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def silu_range(values: np.ndarray) -> tuple[float, float]:
    """The uint8 range for a SiLU's input that minimizes the squared error of the SiLU's *output*.

    A conv's output before SiLU has long negative tails that SiLU squashes to about 0; min/max would spend
    half the 256 levels on them."""
    return activation_range(values, _silu)


def activation_range(values: np.ndarray, activation: Callable) -> tuple[float, float]:
    """The uint8 range for an activation's input that minimizes the squared error of its output: each end
    of the min/max range is shrunk on a grid."""
    lo, hi = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    exact = activation(values)
    best, best_error = (lo, hi), np.inf
    for a in np.linspace(0.2, 1.0, 17):
        for b in np.linspace(0.5, 1.0, 11):
            scale, zero_point = uint8_qparams(lo * a, hi * b)
            q = np.clip(np.round(values / scale) + zero_point, 0, 255)
            error = float(np.mean((activation((q - zero_point) * scale) - exact) ** 2))
            if error < best_error:
                best, best_error = (lo * a, hi * b), error
    return best


def uint8_qparams(lo: float, hi: float) -> tuple[np.float32, np.uint8]:
    """Asymmetric uint8 scale and zero point for a range (widened to contain 0, as ONNX requires)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero_point = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zero_point)


def _shared_qparams(node: onnx.NodeProto, proto: onnx.ModelProto) -> tuple | None:
    """The (scale, zero point) all of a Concat's input DequantizeLinears share, if they share one."""
    init = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    producer = {o: n for n in proto.graph.node for o in n.output}
    params = set()
    for name in node.input:
        dq = producer[name]
        while dq.op_type == "MaxPool" and dq.input[0] in producer:  # max pooling keeps the grid
            dq = producer[dq.input[0]]
        if dq.op_type != "DequantizeLinear":
            return None
        if len(dq.input) < 3 or dq.input[1] not in init or dq.input[2] not in init:
            return None
        scale, zero_point = init[dq.input[1]], init[dq.input[2]]
        if scale.size != 1 or zero_point.dtype != np.uint8:
            return None
        params.add((np.float32(scale.item()), np.uint8(zero_point.item())))
    return params.pop() if len(params) == 1 else None


def insert_qdq(proto: onnx.ModelProto, data: Iterable[dict]) -> tuple[int, int]:
    """Add a uint8 Q/DQ pair after each quantized conv onnxruntime cannot see quantized (an activation such
    as SiLU follows it; see `unquantized_conv_outputs`) and after each float Concat
    that feeds quantized convs (in place). A Concat whose inputs share one grid keeps it (exact); the
    other Concats get their measured min/max, and a conv output the range that serves its activation best
    (see `activation_range`). Returns (convs, concats)."""
    found, concats = unquantized_conv_outputs(proto.graph), float_concats(proto.graph)
    convs = [conv for conv, _ in found]
    params: dict[str, tuple] = {}
    for node in concats:
        shared = _shared_qparams(node, proto)
        if shared is not None:
            params[node.output[0]] = shared
    measure = [n.output[0] for n in convs + concats if n.output[0] not in params]
    samples = tensor_samples(proto, measure, data) if measure else {}
    for conv, activation in found:
        params[conv.output[0]] = uint8_qparams(*activation_range(samples[conv.output[0]], activation))
    for node in concats:
        if node.output[0] not in params:
            values = samples[node.output[0]]
            params[node.output[0]] = uint8_qparams(float(values.min()), float(values.max()))
    position = {id(n): i for i, n in enumerate(proto.graph.node)}
    inserts: dict[int, list[onnx.NodeProto]] = {}
    for node in convs + concats:
        raw = node.output[0]
        scale, zero_point = params[raw]
        base = f"{node.name}_output_q"
        proto.graph.initializer.extend(
            [
                onnx.numpy_helper.from_array(np.array(scale, np.float32), f"{base}_scale"),
                onnx.numpy_helper.from_array(np.array(zero_point, np.uint8), f"{base}_zero_point"),
            ]
        )
        node.output[0] = f"{raw}_float"
        q = onnx.helper.make_node(
            "QuantizeLinear",
            [node.output[0], f"{base}_scale", f"{base}_zero_point"],
            [f"{raw}_quantized"],
            name=f"{base}_QuantizeLinear",
        )
        dq = onnx.helper.make_node(
            "DequantizeLinear",
            [f"{raw}_quantized", f"{base}_scale", f"{base}_zero_point"],
            [raw],
            name=f"{base}_DequantizeLinear",
        )
        inserts[position[id(node)]] = [q, dq]
    _insert_after(proto.graph, inserts)
    return len(convs), len(concats)


def quantize_sigmoids(proto: onnx.ModelProto) -> int:
    """Add a Q/DQ pair on the [0, 1] grid after each SiLU's Sigmoid whose `x·Sigmoid(x)` is quantized next
    (in place), so onnxruntime runs the SiLU as QLinearSigmoid + QLinearMul instead of dequantizing, running
    it in float and quantizing again. Returns how many."""
    producer = {o: n for n in proto.graph.node for o in n.output}
    consumers = _consumers(proto.graph)
    scale, zero_point = "edgeyolo_sigmoid_scale", "edgeyolo_sigmoid_zero_point"
    inserts: dict[int, list[onnx.NodeProto]] = {}
    for i, node in enumerate(proto.graph.node):
        if node.op_type != "Sigmoid":
            continue
        source = producer.get(node.input[0])
        users = consumers.get(node.output[0], [])
        if source is None or source.op_type != "DequantizeLinear" or [u.op_type for u in users] != ["Mul"]:
            continue
        mul = users[0]
        if set(mul.input) != {node.input[0], node.output[0]}:
            continue
        if [u.op_type for u in consumers.get(mul.output[0], [])] != ["QuantizeLinear"]:
            continue
        raw = node.output[0]
        node.output[0] = f"{raw}_float"
        inserts[i] = [
            onnx.helper.make_node(
                "QuantizeLinear",
                [node.output[0], scale, zero_point],
                [f"{raw}_quantized"],
                name=f"{node.name}_Q",
            ),
            onnx.helper.make_node(
                "DequantizeLinear", [f"{raw}_quantized", scale, zero_point], [raw], name=f"{node.name}_DQ"
            ),
        ]
    if inserts:
        proto.graph.initializer.extend(
            [
                onnx.numpy_helper.from_array(np.array(1 / 255, np.float32), scale),
                onnx.numpy_helper.from_array(np.array(0, np.uint8), zero_point),
            ]
        )
        _insert_after(proto.graph, inserts)
    return len(inserts)


def _insert_after(graph: onnx.GraphProto, inserts: dict[int, list[onnx.NodeProto]]) -> None:
    ordered = []
    for i, node in enumerate(graph.node):
        ordered.append(node)
        ordered.extend(inserts.get(i, []))
    del graph.node[:]
    graph.node.extend(ordered)


def onnxruntime_layout(proto: onnx.ModelProto, data: list[dict]) -> dict[str, int]:
    """Turn NNCF's (per-tensor) QDQ graph into the layout onnxruntime fuses into QLinearConv (in place);
    returns what was changed."""
    unsigned = unsigned_activations(proto)
    convs, concats = insert_qdq(proto, data)
    sigmoids = quantize_sigmoids(proto)
    return {"uint8_activations": unsigned, "conv_outputs": convs, "concats": concats, "sigmoids": sigmoids}
