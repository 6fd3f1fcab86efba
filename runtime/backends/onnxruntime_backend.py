"""onnxruntime backend: CPU, or the CUDA / TensorRT execution providers when present."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from edgeyolo.runtime.backends.base import Backend, BackendError, require_library
from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError
from edgeyolo.runtime.graph_check import Port, check_graph
from edgeyolo.runtime.int8_advice import onnxruntime_int8_advice
from edgeyolo.runtime.precision import stored_precision

_PRECISION_ADVICE = (
    "for bf16 use --backend openvino (on a CPU with BF16), for fp16 export with --half, for fp32 use an "
    "fp32 export"
)
# onnxruntime's intra-op threads: "run" spins while a run is in flight and stops when it returns, so the
# pool does not take the cores from the caller's own work (letterbox, decode, the app) or from another model
# between frames; "always" is onnxruntime's own default (idle threads keep spinning); "never" always sleeps.
SPINNING = {
    "run": {"session.force_spinning_stop": "1"},
    "always": {},
    "never": {"session.intra_op.allow_spinning": "0"},
}
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8}


def providers_for(device: str, available: list[str]) -> list[str]:
    """Execution providers for `device` ("cpu", "cuda"/"gpu", "cuda:N", "tensorrt"), best first."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    wanted = {
        "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
        "gpu": ["CUDAExecutionProvider"],
        "cuda": ["CUDAExecutionProvider"],
    }.get(device.split(":")[0])
    if wanted is None:
        raise BackendError(f"unknown device {device!r} for onnxruntime; use cpu, cuda[:N], gpu or tensorrt")
    found = [p for p in wanted if p in available]
    if not found:
        raise BackendError(
            f"device {device!r} needs {' or '.join(wanted)}, but this onnxruntime has only {available}; "
            "install onnxruntime-gpu"
        )
    return [*found, "CPUExecutionProvider"]


def _spinning_mode(spinning: str | bool) -> str:
    if isinstance(spinning, bool):
        return "always" if spinning else "never"
    if spinning not in SPINNING:
        raise BackendError(f"spinning must be one of {', '.join(SPINNING)} (or true/false), got {spinning!r}")
    return spinning


def spinning_config(spinning: str | bool) -> dict[str, str]:
    """onnxruntime session config entries for a spinning mode (see `SPINNING`)."""
    return SPINNING[_spinning_mode(spinning)]


def _ports(args) -> list[Port]:
    """onnxruntime's NodeArg list as Ports (a named or missing dimension is dynamic)."""
    return [
        Port(a.name, tuple(d if isinstance(d, int) else None for d in a.shape), _np_dtype(a.type))
        for a in args
    ]


def _np_dtype(onnx_type: str) -> np.dtype | None:
    return np.dtype(_DTYPES[onnx_type]) if onnx_type in _DTYPES else None


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(
        self,
        path: str | Path,
        device: str = "cpu",
        threads: int | None = None,
        spinning: str | bool = "run",
        precision: str | None = None,
    ) -> None:
        """`precision`: None/"auto", or the precision the file stores (onnxruntime runs it as exported).
        `spinning`: "run" (default), "always" or "never" (see `SPINNING`); True/False mean always/never."""
        super().__init__(path)
        ort = require_library("onnxruntime", None, "onnxruntime")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        spin_mode = _spinning_mode(spinning)
        for key, value in SPINNING[spin_mode].items():
            opts.add_session_config_entry(key, value)
        providers = providers_for(device, ort.get_available_providers())
        options = [{"device_id": int(device.split(":")[1])} if ":" in device else {} for _ in providers]
        try:
            self.session = ort.InferenceSession(
                str(path), opts, providers=providers, provider_options=options
            )
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise BackendError(f"onnxruntime cannot load {path}: {str(exc).strip().splitlines()[0]}") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in meta:
            raise ContractError(
                f"{path} carries no {METADATA_KEY!r} metadata: export it with `edgeyolo export`"
            )
        self.contract = Contract.from_json(meta[METADATA_KEY])
        ran = stored_precision(precision, self.contract.precision, "onnxruntime", _PRECISION_ADVICE)
        advice = onnxruntime_int8_advice(meta, self.contract.precision, "cpu" if device == "cpu" else "gpu")
        if advice:
            warnings.warn(f"{Path(path).name}: {advice}", stacklevel=3)
        check_graph(
            self.contract, _ports(self.session.get_inputs()), _ports(self.session.get_outputs()), path
        )
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_dtype = np.dtype(_DTYPES.get(inp.type, np.float32))
        self.fixed_batch = inp.shape[0] if isinstance(inp.shape[0], int) else None
        self.details = {
            "providers": ",".join(self.session.get_providers()),
            "precision": ran,
            "spinning": spin_mode,
        }

    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: inputs})  # InferenceSession.run is thread-safe

    def close(self) -> None:
        self.session = None
