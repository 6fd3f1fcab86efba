"""OpenVINO backend: reads an IR (directory or .xml) or the ONNX file directly.

`infer` uses one infer request per thread. The compute precision is always stated (`precision`, see
`edgeyolo.runtime.precision`): left alone, OpenVINO silently runs bf16 on CPUs that support it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from edgeyolo.runtime.backends.base import Backend, BackendError, require_library
from edgeyolo.runtime.backends.openvino_core import device_capabilities, shared_core
from edgeyolo.runtime.graph_check import Port, check_graph
from edgeyolo.runtime.precision import OPENVINO_HINT, PrecisionError, from_openvino, openvino_precision


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
        require_library("openvino", "openvino", "OpenVINO")
        core = shared_core()  # never a Core of our own: see openvino_core
        path = Path(path)
        if path.is_dir():
            path = path / "model.xml"
        try:
            model = core.read_model(str(path))
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own
            raise BackendError(f"OpenVINO cannot read {path}: {str(exc).strip().splitlines()[0]}") from exc
        from edgeyolo.runtime.artifact import openvino_contract

        self.contract = openvino_contract(model, path)
        check_graph(self.contract, _ports(model.inputs), _ports(model.outputs), path)
        device = {"cpu": "CPU", "gpu": "GPU", "npu": "NPU", "auto": "AUTO"}.get(device.lower(), device)
        config = {"PERFORMANCE_HINT": performance_hint}
        if device.startswith(("CPU", "GPU")):
            capabilities = device_capabilities(device)
            chosen = openvino_precision(precision, self.contract.precision, capabilities, device)
            config["INFERENCE_PRECISION_HINT"] = OPENVINO_HINT[chosen]
        elif precision is not None:
            raise PrecisionError(f"OpenVINO's {device} device picks its own precision: leave --precision out")
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
            from_openvino(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
            if device.startswith(("CPU", "GPU"))
            else "n/a"
        )
        self.details = {
            "device": device,
            "precision": ran,  # what the float parts are computed in, read back from the compiled model
            "inference_precision": OPENVINO_HINT.get(ran, ran),
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
        # Shared, not copied: the call is synchronous and the array is only read while it runs.
        request.infer({0: np.ascontiguousarray(inputs)}, share_inputs=True)
        return [request.get_output_tensor(i).data.copy() for i in range(len(self.compiled.outputs))]

    def close(self) -> None:
        self.compiled = None
        self._local = threading.local()


def _ports(ports) -> list[Port]:
    """OpenVINO model ports as Ports (dynamic dimensions become None)."""
    out = []
    for port in ports:
        shape = port.get_partial_shape()
        dims = tuple(d.get_length() if d.is_static else None for d in shape) if shape.rank.is_static else None
        try:
            dtype = np.dtype(port.get_element_type().to_dtype())
        except (TypeError, RuntimeError):  # element types numpy has no name for
            dtype = None
        name = port.get_any_name() if port.get_names() else f"#{port.get_index()}"
        out.append(Port(name, dims, dtype))
    return out
