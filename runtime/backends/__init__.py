"""Backends behind one interface, chosen by file type and name; each imports its library lazily."""

from __future__ import annotations

import importlib
from pathlib import Path

from edgeyolo.runtime.backends.base import Backend, BackendError, MissingBackendError

# name -> "module:class". The torch backend is the reference path for .pt checkpoints: it lives with the
# model zoo (it needs it) and is imported only when a checkpoint is given.
BACKENDS = {
    "onnxruntime": "edgeyolo.runtime.backends.onnxruntime_backend:OnnxRuntimeBackend",
    "openvino": "edgeyolo.runtime.backends.openvino_backend:OpenVINOBackend",
    "tensorrt": "edgeyolo.runtime.backends.tensorrt_backend:TensorRTBackend",
    "torch": "edgeyolo.models.torch_backend:TorchBackend",
}


def default_backend(path: str | Path) -> str:
    """The backend `backend="auto"` picks for a model file."""
    path = Path(path)
    if path.is_dir():
        if (path / "model.xml").is_file():
            return "openvino"
        raise BackendError(f"{path} is a directory without an OpenVINO model.xml")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return "onnxruntime"
    if suffix in (".pt", ".pth"):
        return "torch"
    if suffix == ".xml":
        return "openvino"
    if suffix in (".engine", ".plan"):
        return "tensorrt"
    raise BackendError(
        f"cannot tell which backend runs {path}: "
        "expected .onnx, .xml (or an IR directory), .engine/.plan or .pt"
    )


def load_backend(path: str | Path, backend: str = "auto", device: str = "cpu", **options) -> Backend:
    """Load `path` with the named backend ("auto": by file type)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model {path} does not exist")
    name = default_backend(path) if backend == "auto" else backend
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose from auto, {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    try:
        factory = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        extra = "export" if name == "torch" else name
        raise MissingBackendError(
            f"the {name} backend is not available: pip install 'edgeyolo[{extra}]'"
        ) from exc
    return factory(path, device=device, **options)


__all__ = ["BACKENDS", "Backend", "BackendError", "MissingBackendError", "default_backend", "load_backend"]
