"""What is this artifact? Its kind (by suffix, else by content), the backend that runs it, its contract and,
for a TensorRT engine, its sidecar record. The one place that knows the file types edgeyolo reads and writes.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from edgeyolo.runtime.backends.base import BackendError
from edgeyolo.runtime.backends.tensorrt_sidecar import (
    EngineRecord,
    TensorRTEnv,
    check_sidecar,
    probe_env,
    read_sidecar,
    rebuild_command,
    sidecar_path,
)
from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError

CHECKPOINT_SUFFIXES = (".pt", ".pth")
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


class ArtifactKind(Enum):
    """A kind of model file, and the backend that runs it by default."""

    CHECKPOINT = "checkpoint"
    ONNX = "onnx"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"

    @property
    def backend(self) -> str:
        return {"checkpoint": "torch", "onnx": "onnxruntime"}.get(self.value, self.value)

    def describe(self) -> str:
        return {
            "checkpoint": "a PyTorch checkpoint",
            "onnx": "an ONNX model",
            "openvino": "an OpenVINO IR",
            "tensorrt": "a TensorRT engine",
        }[self.value]


class ArtifactError(BackendError):
    """A path that is no model file edgeyolo knows."""


def artifact_kind(path: str | Path) -> ArtifactKind:
    """The kind of model at `path`: by suffix, an IR folder by its model.xml, else by its first bytes."""
    path = Path(path)
    if path.is_dir():
        if (path / "model.xml").is_file():
            return ArtifactKind.OPENVINO
        raise ArtifactError(f"{path} is a directory without an OpenVINO model.xml")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return ArtifactKind.ONNX
    if suffix in CHECKPOINT_SUFFIXES:
        return ArtifactKind.CHECKPOINT
    if suffix == ".xml":
        return ArtifactKind.OPENVINO
    if suffix in ENGINE_SUFFIXES:
        return ArtifactKind.TENSORRT
    kind = _sniff(path)
    if kind is None:
        raise ArtifactError(
            f"cannot tell what {path} is: expected .onnx, .xml (or an IR directory), .engine/.plan or .pt"
        )
    return kind


def _sniff(path: Path) -> ArtifactKind | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch zip, or a legacy pickle
        return ArtifactKind.CHECKPOINT
    if head[:1] == b"\x08":
        return ArtifactKind.ONNX  # protobuf: field 1 (ir_version) as a varint
    return None


def openvino_xml(path: str | Path) -> Path:
    """The model.xml of an IR given as its folder or its .xml."""
    path = Path(path)
    return path / "model.xml" if path.is_dir() else path


def openvino_contract(model, path: str | Path) -> Contract:
    """The contract of a read OpenVINO model. The IR's own record comes first: convert_model also copies the
    source ONNX's metadata_props (the float model's contract) into rt_info["framework"], which must not
    override an FP16/INT8 IR's precision."""
    for keys in ([METADATA_KEY], ["framework", METADATA_KEY]):
        if model.has_rt_info(keys):
            return Contract.from_json(str(model.get_rt_info(keys).value))
    raise ContractError(f"{path} carries no {METADATA_KEY!r} metadata: export it with `edgeyolo export`")


def read_contract(path: str | Path) -> Contract:
    """The contract an exported model carries (ONNX metadata, IR rt_info, engine sidecar)."""
    from edgeyolo.runtime.errors import require

    path = Path(path)
    kind = artifact_kind(path)
    if kind is ArtifactKind.ONNX:
        ort = require("onnxruntime", None, "reading an ONNX model")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime has its own exception types for unreadable files
            raise ArtifactError(f"{path} is not a readable ONNX model: {exc}") from exc
        meta = session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in meta:
            raise ContractError(
                f"{path} carries no {METADATA_KEY!r} metadata: export it with `edgeyolo export`"
            )
        return Contract.from_json(meta[METADATA_KEY])
    if kind is ArtifactKind.OPENVINO:
        ov = require("openvino", "openvino", "reading an OpenVINO IR")
        return openvino_contract(ov.Core().read_model(str(openvino_xml(path))), path)
    if kind is ArtifactKind.TENSORRT:
        return read_sidecar(path).contract
    raise ArtifactError(f"{path} is {kind.describe()}: it carries no exported-model contract")


def output_names(outputs: str, strides: list[int] | tuple[int, ...]) -> list[str]:
    """Output tensor names of each layout: p3, p4, p5 (raw, by stride), output (decoded), detections and
    num_dets (nms)."""
    if outputs == "raw":
        return [f"p{s.bit_length() - 1}" for s in strides]
    if outputs == "decoded":
        return ["output"]
    return ["detections", "num_dets"]


__all__ = [
    "CHECKPOINT_SUFFIXES",
    "ENGINE_SUFFIXES",
    "ArtifactError",
    "ArtifactKind",
    "EngineRecord",
    "TensorRTEnv",
    "artifact_kind",
    "check_sidecar",
    "openvino_contract",
    "openvino_xml",
    "output_names",
    "probe_env",
    "read_contract",
    "read_sidecar",
    "rebuild_command",
    "sidecar_path",
]
