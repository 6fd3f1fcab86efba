"""The TensorRT sidecar `<engine>.json`: what an engine is and where it was built, checked before loading.

A TensorRT plan only runs under the TensorRT version that built it, on a GPU of the same compute
capability. The plan itself stays plain (trtexec and DeepStream load it); everything edgeyolo needs
lives beside it. This module is torch-free and needs TensorRT only in `probe_env`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeyolo.runtime.backends.base import BackendError, require_library
from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError, sha256_file

SIDECAR_KEY = "tensorrt"
SIDECAR_SCHEMA = 1


def sidecar_path(engine: str | Path) -> Path:
    """`model.engine` → `model.engine.json`."""
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


@dataclass(frozen=True)
class TensorRTEnv:
    """The TensorRT installation and GPU a process sees (built with `probe_env`, or by hand in tests)."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "8.7"
    dla_cores: int = 0

    def describe(self) -> str:
        dla = f", {self.dla_cores} DLA cores" if self.dla_cores else ""
        cc = self.compute_capability
        return f"TensorRT {self.tensorrt_version} on {self.gpu_name} (compute capability {cc}{dla})"


@dataclass(frozen=True)
class EngineRecord:
    """Everything the sidecar holds: the edgeyolo contract plus how and where the engine was built."""

    contract: Contract
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    onnx_sha256: str
    engine_sha256: str
    dla_core: int | None = None
    built_at: str = ""  # ISO 8601, UTC
    build_seconds: float = 0.0
    workspace_gb: float = 0.0
    profile: dict[str, list[list[int]]] = field(default_factory=dict)  # input → [min, opt, max]
    rebuild: str = ""  # the command that rebuilds this engine on the device that runs it
    # Engine tensors as [{"name", "dtype", "shape"}] (-1: dynamic); top-level keys, for serving tools.
    inputs: tuple[dict[str, Any], ...] = ()
    outputs: tuple[dict[str, Any], ...] = ()

    def built_env(self) -> TensorRTEnv:
        return TensorRTEnv(self.tensorrt_version, self.gpu_name, self.compute_capability)

    def to_json(self) -> str:
        trt = asdict(self)
        del trt["contract"]
        io = {"inputs": list(trt.pop("inputs")), "outputs": list(trt.pop("outputs"))}
        trt["schema"] = SIDECAR_SCHEMA
        data = {METADATA_KEY: json.loads(self.contract.to_json()), SIDECAR_KEY: trt, **io}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, origin: str = "sidecar") -> EngineRecord:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise BackendError(f"{origin} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or METADATA_KEY not in data or SIDECAR_KEY not in data:
            raise BackendError(f"{origin} needs both a {METADATA_KEY!r} and a {SIDECAR_KEY!r} record")
        try:
            contract = Contract.from_dict(data[METADATA_KEY])
        except ContractError as exc:
            raise BackendError(f"{origin}: {exc}") from exc
        trt: dict[str, Any] = dict(data[SIDECAR_KEY])
        schema = trt.pop("schema", SIDECAR_SCHEMA)
        if not isinstance(schema, int) or schema > SIDECAR_SCHEMA:
            raise BackendError(f"{origin} has sidecar schema {schema}, newer than this edgeyolo; upgrade it")
        required = ("tensorrt_version", "gpu_name", "compute_capability", "precision", "onnx_sha256")
        missing = [k for k in (*required, "engine_sha256") if k not in trt]
        if missing:
            raise BackendError(f"{origin} lacks {', '.join(missing)}")
        known = {k: v for k, v in trt.items() if k in cls.__dataclass_fields__}
        known["inputs"] = tuple(data.get("inputs") or ())
        known["outputs"] = tuple(data.get("outputs") or ())
        try:
            return cls(contract=contract, **known)
        except TypeError as exc:
            raise BackendError(f"{origin} is malformed: {exc}") from exc


def read_sidecar(engine: str | Path) -> EngineRecord:
    """Read the sidecar of `engine`, or say clearly that it is missing."""
    path = sidecar_path(engine)
    if not path.is_file():
        raise BackendError(
            f"{engine} has no sidecar {path.name} beside it: the TensorRT backend needs the record "
            "`edgeyolo export --format trt` writes (model contract, TensorRT version, GPU). Rebuild the "
            "engine on this device with `edgeyolo export --weights <model.pt> --format trt`."
        )
    return EngineRecord.from_json(path.read_text(encoding="utf-8"), origin=str(path))


def _cc(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(value).split("."))
    except ValueError:
        return (-1,)


def check_sidecar(record: EngineRecord, env: TensorRTEnv) -> list[str]:
    """Refuse an engine this environment cannot run; returns warnings for what can run but is unusual.

    Errors (BackendError): another TensorRT version, another compute capability, a DLA core this device
    lacks. Warning: same compute capability on another GPU model (runs, but tactics were timed elsewhere).
    """
    problems = []
    if record.tensorrt_version != env.tensorrt_version:
        problems.append(
            f"TensorRT {record.tensorrt_version} built it, this is TensorRT {env.tensorrt_version} "
            "(plans only load in the exact version that built them)"
        )
    if _cc(record.compute_capability) != _cc(env.compute_capability):
        problems.append(
            f"it was built for compute capability {record.compute_capability} ({record.gpu_name}), "
            f"this GPU is {env.compute_capability} ({env.gpu_name})"
        )
    if record.dla_core is not None and record.dla_core >= env.dla_cores:
        have = f"only {env.dla_cores} DLA cores" if env.dla_cores else "no DLA"
        problems.append(f"it runs on DLA core {record.dla_core}, this device has {have}")
    if problems:
        raise BackendError(
            "this TensorRT engine cannot run here: "
            + "; ".join(problems)
            + f". Built with TensorRT {record.tensorrt_version} on {record.gpu_name} "
            f"(compute capability {record.compute_capability}); here: {env.describe()}. "
            f"Rebuild it on this device: {record.rebuild or rebuild_command(record)}"
        )
    warnings = []
    if record.gpu_name != env.gpu_name:
        warnings.append(
            f"engine built on {record.gpu_name}, running on {env.gpu_name} (same compute capability "
            f"{env.compute_capability}): it runs, but rebuild here for the fastest tactics"
        )
    return warnings


def check_engine_file(record: EngineRecord, engine: str | Path) -> None:
    """The sidecar must describe this very plan (not one built before it was overwritten)."""
    digest = sha256_file(engine)
    if digest != record.engine_sha256:
        raise BackendError(
            f"{sidecar_path(engine).name} describes another engine (sha256 {record.engine_sha256[:12]}…, "
            f"the file is {digest[:12]}…): the plan was replaced without its sidecar. Rebuild both: "
            f"{record.rebuild or rebuild_command(record)}"
        )


def rebuild_command(record: EngineRecord, weights: str = "<model.pt>", output: str = "") -> str:
    """The `edgeyolo export` command that builds an engine like `record` describes."""
    c = record.contract
    parts = ["edgeyolo export", f"--weights {weights}", "--format trt", f"--imgsz {c.imgsz[0]},{c.imgsz[1]}"]
    if record.precision in ("fp16", "int8"):
        parts.append(f"--{record.precision}")
    if record.precision == "int8":
        parts.append("--data <calibration images or data.yaml>")
    dynamic = {(True, True): "all", (True, False): "batch", (False, True): "shape"}.get(
        (c.dynamic_batch, c.dynamic_shape)
    )
    if dynamic:
        parts.append(f"--dynamic {dynamic}")
    if c.outputs == "nms":
        parts.append(f"--outputs nms --max-det {c.max_det} --conf {c.nms_conf} --iou {c.nms_iou}")
    if c.input == "uint8-nhwc-bgr":
        parts.append("--input uint8")
    if record.workspace_gb:
        parts.append(f"--workspace {record.workspace_gb:g}")
    if record.dla_core is not None:
        parts.append(f"--dla {record.dla_core}")
    if output:
        parts.append(f"-o {output}")
    return " ".join(parts)


def load_cudart():
    """cuda-python's runtime module (its location moved in cuda-python 12.6)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        from cuda import cudart
    return cudart


def probe_env(device: int = 0) -> TensorRTEnv:
    """The TensorRT version, GPU name, compute capability and DLA cores of this process (needs both
    tensorrt and cuda-python)."""
    trt = require_library("tensorrt", "tensorrt", "tensorrt")
    require_library("cuda", "tensorrt", "tensorrt")
    cudart = load_cudart()
    err, prop = cudart.cudaGetDeviceProperties(device)
    if err != cudart.cudaError_t.cudaSuccess:
        raise BackendError(f"cannot query CUDA device {device}: {err}")
    name = prop.name.decode(errors="replace").rstrip("\x00") if isinstance(prop.name, bytes) else prop.name
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    return TensorRTEnv(trt.__version__, str(name), f"{prop.major}.{prop.minor}", int(runtime.num_DLA_cores))
