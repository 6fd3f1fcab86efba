"""NVIDIA Triton Inference Server model repository for an exported model.

`write_triton_repository` lays out ``<repo>/<name>/config.pbtxt`` and ``<repo>/<name>/1/`` holding
``model.onnx`` (onnxruntime backend), ``model.plan`` (TensorRT backend) or ``model.xml`` + ``model.bin``
(OpenVINO backend). Names, dtypes and dims come from the model itself (ONNX graph, OpenVINO ports, the
TensorRT sidecar) and its edgeyolo contract:

- a dynamic-batch export gets ``max_batch_size: N`` (dims without the batch axis) and
  ``dynamic_batching``; any other export gets ``max_batch_size: 0`` and its full dims;
- the contract is stored verbatim as the model parameter ``edgeyolo`` (clients read it through the
  model-config endpoint and decode ``raw`` outputs with ``edgeyolo.runtime.decode``), beside ``names``.

The config is written as protobuf text without needing Triton's Python packages; the tests parse it
with ``tritonclient``'s ``model_config_pb2``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from edgeyolo.atomic import atomic_output
from edgeyolo.errors import EdgeYoloError
from edgeyolo.export.model_io import KINDS, ModelInfo, TensorSpec, inspect_model
from edgeyolo.runtime.contract import METADATA_KEY, Contract

TRITON_DTYPES = {
    "float32": "TYPE_FP32",
    "float64": "TYPE_FP64",
    "float16": "TYPE_FP16",
    "uint8": "TYPE_UINT8",
    "int8": "TYPE_INT8",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "bool": "TYPE_BOOL",
}
# kind -> (platform, backend, file names in the version directory)
LAYOUT = {
    "onnxruntime": ("onnxruntime_onnx", "onnxruntime", ("model.onnx",)),
    "tensorrt": ("tensorrt_plan", "tensorrt", ("model.plan",)),
    "openvino": (None, "openvino", ("model.xml", "model.bin")),
}
INSTANCE_KINDS = {"auto": "KIND_AUTO", "gpu": "KIND_GPU", "cpu": "KIND_CPU"}
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class TritonError(EdgeYoloError):
    """The Triton model repository cannot be written as asked."""


def write_triton_repository(
    model_path: str | Path,
    repo: str | Path,
    name: str | None = None,
    *,
    kind: str | None = None,
    max_batch: int = 8,
    instances: int = 1,
    device: str = "auto",
    max_queue_delay_us: int = 100,
    version: int = 1,
    contract: Contract | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `<repo>/<name>/` for the model at `model_path`; return that model directory.

    `kind` (onnxruntime | tensorrt | openvino) defaults to the model's own; `max_batch` applies to
    dynamic-batch exports only; `device` is the instance kind (auto | gpu | cpu); `contract` is used
    only for an engine without a sidecar. Refuses an existing model directory unless `overwrite`.
    """
    info = inspect_model(model_path, contract)
    if kind is not None and kind != info.kind:
        if kind not in KINDS:
            raise TritonError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        raise TritonError(f"{model_path} is a model for the {info.kind} backend, not {kind}")
    name = name or _default_name(info)
    if not MODEL_NAME_PATTERN.match(name):
        raise TritonError(
            f"model name {name!r} must be letters, digits, '_', '.', '-' (not starting with '.')"
        )
    if version < 1:
        raise TritonError(f"version must be >= 1, got {version}")
    target = Path(repo) / name
    if target.exists() and not overwrite:
        raise TritonError(f"{target} exists; pass overwrite=True (--overwrite) to replace it")
    text = triton_config(info, name, max_batch, instances, device, max_queue_delay_us)
    with atomic_output(target, directory=True) as tmp:
        (tmp / "config.pbtxt").write_text(text)
        vdir = tmp / str(version)
        vdir.mkdir()
        for src, dst in zip(info.files, LAYOUT[info.kind][2], strict=True):
            shutil.copyfile(src, vdir / dst)
    return target


def _default_name(info: ModelInfo) -> str:
    stem = (
        info.path.parent.name if info.kind == "openvino" and info.path.name == "model.xml" else info.path.stem
    )
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".") or "edgeyolo"


def triton_config(
    info: ModelInfo,
    name: str,
    max_batch: int = 8,
    instances: int = 1,
    device: str = "auto",
    max_queue_delay_us: int = 100,
) -> str:
    """The `config.pbtxt` text (protobuf text format of Triton's `ModelConfig`) for `info`."""
    if instances < 1:
        raise TritonError(f"instances must be >= 1, got {instances}")
    if device not in INSTANCE_KINDS:
        raise TritonError(f"device must be one of {', '.join(INSTANCE_KINDS)}, got {device!r}")
    if info.kind == "tensorrt" and device == "cpu":
        raise TritonError("a TensorRT engine runs on a GPU only; use device gpu or auto")
    if info.kind == "openvino" and device == "gpu":
        raise TritonError("Triton's OpenVINO backend runs on CPU instances only; use device cpu or auto")
    if max_queue_delay_us < 0:
        raise TritonError(f"max_queue_delay_us must be >= 0, got {max_queue_delay_us}")
    batched = _batched(info)
    if batched:
        if max_batch < 1:
            raise TritonError(f"max_batch must be >= 1, got {max_batch}")
        cap = info.extra.get("max_batch")
        if isinstance(cap, int) and max_batch > cap:
            raise TritonError(f"max_batch {max_batch} exceeds the engine's optimisation profile ({cap})")
    platform, backend, _ = LAYOUT[info.kind]
    instance_kind = (
        {"tensorrt": "gpu", "openvino": "cpu"}.get(info.kind, device) if device == "auto" else device
    )

    lines = [f"name: {quote(name)}"]
    if platform:
        lines.append(f"platform: {quote(platform)}")
    lines += [f"backend: {quote(backend)}", f"max_batch_size: {max_batch if batched else 0}"]
    lines += tensor_lines("input", info.inputs, batched)
    lines += tensor_lines("output", info.outputs, batched)
    if batched:
        lines += ["dynamic_batching {", f"  max_queue_delay_microseconds: {max_queue_delay_us}", "}"]
    lines += [
        "instance_group [",
        "  {",
        f"    count: {instances}",
        f"    kind: {INSTANCE_KINDS[instance_kind]}",
        "  }",
        "]",
    ]
    params = {METADATA_KEY: info.contract.to_json(), "names": json.dumps(list(info.contract.names))}
    for key in ("tensorrt_version", "gpu_name", "compute_capability", "onnx_sha256"):
        if key in info.extra:
            params[key] = str(info.extra[key])
    return "\n".join(lines + parameter_lines(params)) + "\n"


def parameter_lines(params: dict[str, str]) -> list[str]:
    """A config.pbtxt's `parameters { key value { string_value } }` entries."""
    lines = []
    for key, value in params.items():
        lines += [
            "parameters {",
            f"  key: {quote(key)}",
            f"  value {{ string_value: {quote(value)} }}",
            "}",
        ]
    return lines


def _batched(info: ModelInfo) -> bool:
    """True for a dynamic-batch export (every tensor's first axis dynamic), False for a fixed one."""
    tensors = info.inputs + info.outputs
    dynamic_first = [bool(t.shape) and t.shape[0] is None for t in tensors]
    if not info.contract.dynamic_batch:
        return False
    if not all(dynamic_first):
        fixed = [t.name for t, d in zip(tensors, dynamic_first, strict=True) if not d]
        raise TritonError(
            f"the contract says dynamic batch but {', '.join(fixed)} of {info.path} have a fixed first axis"
        )
    return True


def tensor_lines(section: str, tensors: tuple[TensorSpec, ...], batched: bool) -> list[str]:
    lines = [f"{section} ["]
    for i, t in enumerate(tensors):
        if t.dtype not in TRITON_DTYPES:
            raise TritonError(f"tensor {t.name!r} has dtype {t.dtype}, which Triton configs cannot express")
        dims = [-1 if d is None else d for d in (t.shape[1:] if batched else t.shape)]
        lines += ["  {", f"    name: {quote(t.name)}", f"    data_type: {TRITON_DTYPES[t.dtype]}"]
        if dims:
            lines.append(f"    dims: [ {', '.join(str(d) for d in dims)} ]")
        else:  # only the batch axis (num_dets [B]): Triton wants dims [1] reshaped to a scalar per item
            lines += ["    dims: [ 1 ]", "    reshape: { shape: [ ] }"]
        lines.append("  }," if i < len(tensors) - 1 else "  }")
    lines.append("]")
    return lines


def quote(text: str) -> str:
    """A protobuf text-format string literal (C escapes; non-ASCII as octal UTF-8 bytes)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in "\"'\\":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'
