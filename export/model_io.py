"""What a serving engine needs to know about an exported model: its kind, contract and tensors.

Reads the three artifact kinds edgeyolo writes (DESIGN.md §3):

- ONNX (`.onnx`): contract from `metadata_props`, tensors from the graph.
- TensorRT (`.engine` / `.plan`): contract, build record and tensors from the sidecar `<engine>.json`
  (read through `edgeyolo.runtime.artifact`); tensors derived from the contract when it lists none
  (the engine itself is only readable with TensorRT on a GPU).
- OpenVINO IR (a directory holding `model.xml` + `model.bin`, or the `.xml`): contract from `rt_info`,
  tensors from the model's ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeyolo.errors import EdgeYoloError, require
from edgeyolo.runtime.artifact import (
    ArtifactError,
    ArtifactKind,
    artifact_kind,
    openvino_contract,
    openvino_xml,
    output_names,
    read_sidecar,
    sidecar_path,
)
from edgeyolo.runtime.backends import BackendError
from edgeyolo.runtime.contract import Contract, ContractError

KINDS = ("onnxruntime", "tensorrt", "openvino")

# ONNX TensorProto element types edgeyolo graphs use, as numpy dtype names.
_ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 10: "float16"}


class ModelIOError(EdgeYoloError):
    """The model cannot be described for a serving engine."""


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: name, numpy dtype name and shape (None for a dynamic dimension)."""

    name: str
    dtype: str
    shape: tuple[int | None, ...]


@dataclass(frozen=True)
class ModelInfo:
    """An exported model as a serving engine sees it."""

    kind: str  # one of KINDS: the Triton backend that runs it
    path: Path  # the model file (the .xml for an OpenVINO IR)
    files: tuple[Path, ...]  # every file that makes up the model
    contract: Contract
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    extra: dict  # kind-specific provenance (the TensorRT sidecar's other keys)


def model_kind(path: str | Path) -> str:
    """The kind of model at `path`: onnxruntime (.onnx), tensorrt (.engine/.plan) or openvino (IR)."""
    try:
        kind = artifact_kind(path)
    except ArtifactError as exc:
        raise ModelIOError(str(exc)) from exc
    if kind is ArtifactKind.CHECKPOINT:
        raise ModelIOError(f"{path} is a checkpoint: export it first (edgeyolo export --weights {path})")
    return kind.backend


def inspect_model(path: str | Path, contract: Contract | None = None) -> ModelInfo:
    """Describe the model at `path`. `contract` is used only where the file carries none of its own."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model {path} does not exist")
    kind = model_kind(path)
    if kind == "onnxruntime":
        return _inspect_onnx(path)
    if kind == "tensorrt":
        return _inspect_engine(path, contract)
    return _inspect_openvino(path)


def _inspect_onnx(path: Path) -> ModelInfo:
    onnx = require("onnx", "export", "reading an ONNX graph")
    from edgeyolo.export.metadata import read_metadata

    proto = onnx.load(str(path), load_external_data=False)
    try:
        contract = read_metadata(proto)
    except KeyError as exc:
        raise ModelIOError(f"{path} has no edgeyolo metadata; export it with edgeyolo export") from exc
    initializers = {t.name for t in proto.graph.initializer}

    def spec(value) -> TensorSpec:
        ttype = value.type.tensor_type
        if ttype.elem_type not in _ONNX_DTYPES:
            raise ModelIOError(
                f"{path}: tensor {value.name!r} has unsupported element type {ttype.elem_type}"
            )
        shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in ttype.shape.dim)
        return TensorSpec(value.name, _ONNX_DTYPES[ttype.elem_type], shape)

    inputs = tuple(spec(v) for v in proto.graph.input if v.name not in initializers)
    outputs = tuple(spec(v) for v in proto.graph.output)
    return ModelInfo("onnxruntime", path, (path,), contract, inputs, outputs, {})


def _inspect_engine(path: Path, contract: Contract | None) -> ModelInfo:
    side = sidecar_path(path)
    if not side.exists():
        if contract is None:
            raise ModelIOError(
                f"{path} has no sidecar {side.name} and no contract was given; "
                "re-export it with edgeyolo export --format trt"
            )
        inputs, outputs = contract_tensors(contract)
        return ModelInfo("tensorrt", path, (path,), contract, inputs, outputs, {})
    try:
        record = read_sidecar(path)
    except BackendError as exc:
        raise ModelIOError(str(exc)) from exc
    if contract is not None and contract != record.contract:
        raise ModelIOError(f"the contract given disagrees with the one in {side}")
    extra: dict = {
        "tensorrt_version": record.tensorrt_version,
        "gpu_name": record.gpu_name,
        "compute_capability": record.compute_capability,
        "onnx_sha256": record.onnx_sha256,
    }
    ranges = list(record.profile.values())
    if ranges:  # the optimisation profile's largest batch: [min, opt, max] shapes per input
        extra["max_batch"] = int(ranges[0][2][0])
    inputs = _listed_specs(record.inputs, side)
    outputs = _listed_specs(record.outputs, side)
    if not inputs or not outputs:
        inputs, outputs = contract_tensors(record.contract)
    return ModelInfo("tensorrt", path, (path,), record.contract, inputs, outputs, extra)


def _listed_specs(items, side: Path) -> tuple[TensorSpec, ...]:
    """Tensors a sidecar lists as [{"name", "dtype", "shape"}] (-1 or null for dynamic dims)."""
    if not items:
        return ()
    try:
        return tuple(
            TensorSpec(
                str(t["name"]),
                np.dtype(t["dtype"]).name,
                tuple(None if d is None or int(d) < 0 else int(d) for d in t["shape"]),
            )
            for t in items
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelIOError(f"{side}: malformed tensor list: {exc}") from exc


def contract_tensors(contract: Contract, batch: int | None = None) -> tuple[tuple[TensorSpec, ...], ...]:
    """Inputs and outputs an edgeyolo export of `contract` has (batch None: dynamic or unknown)."""
    h, w = (None, None) if contract.dynamic_shape else contract.imgsz
    b = None if contract.dynamic_batch else batch
    float_io = "float16" if contract.precision == "fp16" else "float32"
    if contract.input == "uint8-nhwc-bgr":
        inputs = (TensorSpec("images", "uint8", (b, h, w, 3)),)
    else:
        inputs = (TensorSpec("images", float_io, (b, 3, h, w)),)
    no = contract.na * (5 + contract.nc)
    if contract.outputs == "raw":
        outputs = tuple(
            TensorSpec(name, float_io, (b, no, None if h is None else h // s, None if w is None else w // s))
            for name, s in zip(output_names("raw", contract.strides), contract.strides, strict=True)
        )
    elif contract.outputs == "decoded":
        n = None if h is None else sum(contract.na * (h // s) * (w // s) for s in contract.strides)
        outputs = (TensorSpec("output", float_io, (b, n, 5 + contract.nc)),)
    else:
        outputs = (
            TensorSpec("detections", "float32", (b, contract.max_det, 6)),
            TensorSpec("num_dets", "int64", (b,)),
        )
    return inputs, outputs


def _inspect_openvino(path: Path) -> ModelInfo:
    xml = openvino_xml(path)
    bin_ = xml.with_suffix(".bin")
    for needed in (xml, bin_):
        if not needed.is_file():
            raise ModelIOError(f"OpenVINO IR {path} lacks {needed.name}")
    ov = require("openvino", "openvino", "reading an OpenVINO IR")
    model = ov.Core().read_model(str(xml))
    try:
        contract = openvino_contract(model, xml)
    except ContractError as exc:
        raise ModelIOError(str(exc)) from exc

    def spec(port) -> TensorSpec:
        shape = tuple(d.get_length() if d.is_static else None for d in port.get_partial_shape())
        return TensorSpec(port.get_any_name(), np.dtype(port.get_element_type().to_dtype()).name, shape)

    inputs = tuple(spec(p) for p in model.inputs)
    outputs = tuple(spec(p) for p in model.outputs)
    return ModelInfo("openvino", xml, (xml, bin_), contract, inputs, outputs, {})
