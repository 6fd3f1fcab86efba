"""OpenVINO backend: reads an IR (directory or .xml) or the ONNX file directly.

`infer` uses one infer request per thread (latency); `infer_many` keeps an async queue of requests busy
(throughput, with `performance_hint="THROUGHPUT"`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from edgeyolo.runtime.backends.base import Backend, BackendError, require_library
from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError

# What the runtime asks OpenVINO to compute in, by model precision. Stated explicitly: left alone,
# OpenVINO silently runs bf16 on CPUs that support it.
# An fp16 model has fp16 *weights*; asking a CPU for f16 compute turns into bf16 on CPUs that have it.
_PRECISION_HINT = {"fp32": "f32", "fp16": "f32", "int8": "f32", "bf16": "bf16"}


class OpenVINOBackend(Backend):
    name = "openvino"

    def __init__(
        self,
        path: str | Path,
        device: str = "CPU",
        precision: str | None = None,
        performance_hint: str = "LATENCY",
        threads: int | None = None,
    ) -> None:
        super().__init__(path)
        ov = require_library("openvino", "openvino", "OpenVINO")
        core = ov.Core()
        path = Path(path)
        if path.is_dir():
            path = path / "model.xml"
        try:
            model = core.read_model(str(path))
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own
            raise BackendError(f"OpenVINO cannot read {path}: {str(exc).strip().splitlines()[0]}") from exc
        self.contract = _read_contract(model, path)
        device = {"cpu": "CPU", "gpu": "GPU", "npu": "NPU", "auto": "AUTO"}.get(device.lower(), device)
        hint = precision or _PRECISION_HINT[self.contract.precision]
        config = {"PERFORMANCE_HINT": performance_hint}
        if device.startswith(("CPU", "GPU")):
            config["INFERENCE_PRECISION_HINT"] = hint
        if threads and device.startswith("CPU"):
            config["INFERENCE_NUM_THREADS"] = int(threads)  # `edgeyolo bench --threads`
        try:
            self.compiled = core.compile_model(model, device, config)
        except Exception as exc:
            raise BackendError(f"OpenVINO cannot compile {path} for {device}: {exc}") from exc
        port = self.compiled.input(0)
        self.input_dtype = np.dtype(port.get_element_type().to_dtype())
        shape = port.get_partial_shape()
        self.fixed_batch = shape[0].get_length() if shape[0].is_static else None
        ran = (
            self.compiled.get_property("INFERENCE_PRECISION_HINT")
            if device.startswith(("CPU", "GPU"))
            else "n/a"
        )
        self.details = {
            "device": device,
            "inference_precision": ran.to_string() if hasattr(ran, "to_string") else str(ran),
            "performance_hint": performance_hint,
        }
        self._local = threading.local()

    def _request(self):
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        return request

    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        request = self._request()
        request.infer({0: inputs})
        return [request.get_output_tensor(i).data.copy() for i in range(len(self.compiled.outputs))]

    def infer_many(self, inputs: list[np.ndarray]) -> list[list[np.ndarray]]:
        """Run several inputs through an async queue of infer requests; results in input order."""
        ov = require_library("openvino", "openvino", "OpenVINO")
        results: list[list[np.ndarray] | None] = [None] * len(inputs)

        def done(request, index: int) -> None:
            results[index] = [
                request.get_output_tensor(i).data.copy() for i in range(len(self.compiled.outputs))
            ]

        queue = ov.AsyncInferQueue(
            self.compiled, self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        )
        queue.set_callback(done)
        for index, x in enumerate(inputs):
            queue.start_async({0: x}, index)
        queue.wait_all()
        return results  # type: ignore[return-value]

    def close(self) -> None:
        self.compiled = None
        self._local = threading.local()


def _read_contract(model, path: str | Path) -> Contract:
    # The IR's own record first: convert_model also copies the source ONNX's metadata_props (the float
    # model's contract) into rt_info["framework"], which must not override an FP16/INT8 IR's precision.
    for keys in ([METADATA_KEY], ["framework", METADATA_KEY]):  # IR rt_info, or ONNX metadata_props
        if model.has_rt_info(keys):
            return Contract.from_json(str(model.get_rt_info(keys).value))
    raise ContractError(f"{path} carries no {METADATA_KEY!r} metadata: export it with `edgeyolo export`")
