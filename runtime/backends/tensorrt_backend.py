"""TensorRT backend: a plan file plus its sidecar; CUDA buffers through cuda-python.

The sidecar is read and checked (TensorRT version, compute capability, DLA, the plan's sha256) before the
plan is deserialised. Each thread gets its own execution context, CUDA stream and device buffers.
Written against the TensorRT 10 Python API; docs/tensorrt.md says what has been run on real hardware.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np

from edgeyolo.runtime.backends.base import Backend, BackendError, require_library
from edgeyolo.runtime.backends.tensorrt_sidecar import (
    EngineRecord,
    check_engine_file,
    check_sidecar,
    load_cudart,
    probe_env,
    read_sidecar,
)
from edgeyolo.runtime.precision import stored_precision


def device_index(device: str) -> int:
    """CUDA device of a device string: "cuda", "gpu", "cpu" (the runtime's default: GPU 0), "cuda:N"."""
    name, _, index = device.lower().partition(":")
    if name not in ("cuda", "gpu", "cpu", "auto", "tensorrt") or (index and not index.isdigit()):
        raise BackendError(f"unknown device {device!r} for TensorRT; use cuda or cuda:N")
    return int(index) if index else 0


class _CudaCalls:
    """cuda-python calls return (error, *values); turn errors into BackendError."""

    def __init__(self) -> None:
        self.rt = load_cudart()

    def __call__(self, fn_name: str, *args):
        result = getattr(self.rt, fn_name)(*args)
        err, values = result[0], result[1:]
        if err != self.rt.cudaError_t.cudaSuccess:
            _, text = self.rt.cudaGetErrorString(err)
            raise BackendError(f"CUDA {fn_name} failed: {text.decode() if isinstance(text, bytes) else text}")
        return values[0] if len(values) == 1 else values


class _ThreadState:
    """One execution context, stream and set of device buffers, used by one thread only."""

    def __init__(self, engine, cuda: _CudaCalls, device: int) -> None:
        cuda("cudaSetDevice", device)
        self.context = engine.create_execution_context()
        if self.context is None:
            raise BackendError("TensorRT could not create an execution context (out of GPU memory?)")
        self.stream = cuda("cudaStreamCreate")
        self.buffers: dict[str, tuple[int, int]] = {}  # name → (device pointer, bytes)
        self.input_shape: tuple[int, ...] | None = None

    def buffer(self, cuda: _CudaCalls, name: str, nbytes: int) -> int:
        ptr, size = self.buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                cuda("cudaFree", ptr)
            ptr = int(cuda("cudaMalloc", max(nbytes, 1)))
            self.buffers[name] = (ptr, nbytes)
        return ptr

    def release(self, cuda: _CudaCalls) -> None:
        for ptr, _ in self.buffers.values():
            cuda("cudaFree", ptr)
        self.buffers.clear()
        cuda("cudaStreamDestroy", self.stream)
        self.context = None


class TensorRTBackend(Backend):
    """Runs a TensorRT plan built by `edgeyolo export --format trt` on an NVIDIA GPU (or Jetson DLA)."""

    name = "tensorrt"

    def __init__(
        self,
        path: str | Path,
        device: str = "cuda",
        record: EngineRecord | None = None,
        precision: str | None = None,
    ) -> None:
        """`record`: the sidecar's contents when the caller holds them already (export verifies a plan
        before its sidecar is in place); otherwise `<path>.json` is read. Either way it is checked.
        `precision`: None/"auto", or the engine's own (fixed when it was built)."""
        super().__init__(path)
        record = record or read_sidecar(path)
        stored_precision(
            precision,
            record.precision,
            "tensorrt",
            "an engine's precision is fixed when it is built (fp32, or --fp16 / --int8 with "
            "`edgeyolo export --format trt`)",
        )
        trt = require_library("tensorrt", "tensorrt", "tensorrt")
        require_library("cuda", "tensorrt", "tensorrt")
        self._trt = trt
        self.device = device_index(device)
        check_engine_file(record, path)
        for message in check_sidecar(record, probe_env(self.device)):
            warnings.warn(message, stacklevel=2)
        self.record = record
        self.contract = record.contract
        self._cuda = _CudaCalls()
        self._cuda("cudaSetDevice", self.device)
        self._logger = trt.Logger(trt.Logger.WARNING)
        trt.init_libnvinfer_plugins(self._logger, "")  # EfficientNMS_TRT lives in the plugin library
        self._runtime = trt.Runtime(self._logger)
        if record.dla_core is not None:
            self._runtime.DLA_core = record.dla_core
        self.engine = self._runtime.deserialize_cuda_engine(Path(path).read_bytes())
        if self.engine is None:
            raise BackendError(f"TensorRT could not deserialise {path} (see the TensorRT log above)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        if len(inputs) != 1:
            raise BackendError(f"{path} has inputs {inputs}; edgeyolo engines have exactly one")
        self.input_name = inputs[0]
        self.output_names = [n for n in names if n != self.input_name]
        self._dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))) for n in names}
        self.input_dtype = self._dtypes[self.input_name]
        self._input_rank = len(self.engine.get_tensor_shape(self.input_name))
        batch = self.engine.get_tensor_shape(self.input_name)[0]
        self.fixed_batch = int(batch) if batch >= 0 else None
        self.details = {
            "device": f"cuda:{self.device}"
            + (f" + DLA core {record.dla_core}" if record.dla_core is not None else ""),
            "precision": record.precision,
            "tensorrt": record.tensorrt_version,
        }
        self._local = threading.local()
        self._states: list[_ThreadState] = []
        self._lock = threading.Lock()

    def _state(self) -> _ThreadState:
        state = getattr(self._local, "state", None)
        if state is None:
            if self.engine is None:
                raise BackendError("this TensorRT backend is closed")
            state = self._local.state = _ThreadState(self.engine, self._cuda, self.device)
            with self._lock:
                self._states.append(state)
        return state

    def _check_input(self, x: np.ndarray) -> None:
        if x.dtype != self.input_dtype:
            raise BackendError(f"the engine takes {self.input_dtype} input, got {x.dtype}")
        if x.ndim != self._input_rank:
            raise BackendError(f"the engine takes a {self._input_rank}-d input, got shape {x.shape}")

    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        self._check_input(inputs)
        x = np.ascontiguousarray(inputs)
        state, cuda = self._state(), self._cuda
        kind = cuda.rt.cudaMemcpyKind
        if state.input_shape != x.shape:
            if not state.context.set_input_shape(self.input_name, x.shape):
                low, _, high = self.engine.get_tensor_profile_shape(self.input_name, 0)
                raise BackendError(
                    f"input shape {x.shape} is outside the engine's profile {tuple(low)} … {tuple(high)}"
                )
            state.input_shape = x.shape
        outputs = [
            np.empty(tuple(state.context.get_tensor_shape(n)), dtype=self._dtypes[n])
            for n in self.output_names
        ]
        ptr = state.buffer(cuda, self.input_name, x.nbytes)
        state.context.set_tensor_address(self.input_name, ptr)
        cuda("cudaMemcpyAsync", ptr, x.ctypes.data, x.nbytes, kind.cudaMemcpyHostToDevice, state.stream)
        out_ptrs = []
        for name, host in zip(self.output_names, outputs, strict=True):
            out_ptrs.append(state.buffer(cuda, name, host.nbytes))
            state.context.set_tensor_address(name, out_ptrs[-1])
        if not state.context.execute_async_v3(int(state.stream)):
            raise BackendError("TensorRT execute_async_v3 failed (see the TensorRT log above)")
        for host, dev in zip(outputs, out_ptrs, strict=True):
            cuda(
                "cudaMemcpyAsync",
                host.ctypes.data,
                dev,
                host.nbytes,
                kind.cudaMemcpyDeviceToHost,
                state.stream,
            )
        cuda("cudaStreamSynchronize", state.stream)
        return outputs

    def close(self) -> None:
        with self._lock:
            states, self._states = self._states, []
        for state in states:
            state.release(self._cuda)
        self._local = threading.local()
        self.engine = None
        self._runtime = None
