"""Backends behind one interface, chosen by file type and name; each imports its library lazily.

The runtime's own backends are listed here. Others register themselves: in code with `register_backend`,
or as a package entry point in the group ``edgeyolo.backends`` (this is how the torch reference backend,
which lives with the model zoo, is found without the runtime naming anything outside itself).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from edgeyolo.runtime.backends.base import Backend, BackendError, MissingBackendError

ENTRY_POINT_GROUP = "edgeyolo.backends"

# name -> "module:class" of the runtime's own backends (imported only when used)
BACKENDS = {
    "onnxruntime": "edgeyolo.runtime.backends.onnxruntime_backend:OnnxRuntimeBackend",
    "openvino": "edgeyolo.runtime.backends.openvino_backend:OpenVINOBackend",
    "tensorrt": "edgeyolo.runtime.backends.tensorrt_backend:TensorRTBackend",
}
# the extra that installs each backend's library, for the error when it is missing
EXTRAS = {"openvino": "openvino", "tensorrt": "tensorrt", "torch": "export"}

_registered: dict[str, Callable[..., Backend]] = {}


def register_backend(name: str, factory: Callable[..., Backend]) -> None:
    """Make `factory(path, device=..., **options)` loadable as `backend=name`."""
    _registered[name] = factory


def backend_names() -> list[str]:
    """Every backend that can be asked for by name."""
    plugins = [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return list(dict.fromkeys([*BACKENDS, *_registered, *plugins]))


def default_backend(path: str | Path) -> str:
    """The backend `backend="auto"` picks for a model file."""
    from edgeyolo.runtime.artifact import artifact_kind

    return artifact_kind(path).backend


def _factory(name: str) -> Callable[..., Backend]:
    if name in _registered:
        return _registered[name]
    if name in BACKENDS:
        module, cls = BACKENDS[name].split(":")
        return getattr(importlib.import_module(module), cls)
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return ep.load()
    raise BackendError(f"unknown backend {name!r}; choose from auto, {', '.join(backend_names())}")


def load_backend(path: str | Path, backend: str = "auto", device: str = "cpu", **options) -> Backend:
    """Load `path` with the named backend ("auto": by file type)."""
    path = Path(path)
    if not path.exists():
        raise ModelNotFoundError(f"model {path} does not exist")
    name = default_backend(path) if backend == "auto" else backend
    try:
        factory = _factory(name)
    except ImportError as exc:
        raise MissingBackendError(
            f"the {name} backend is not available: pip install 'edgeyolo[{EXTRAS.get(name, name)}]'"
        ) from exc
    return factory(path, device=device, **options)


class ModelNotFoundError(BackendError, FileNotFoundError):
    """The model file does not exist."""


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "MissingBackendError",
    "ModelNotFoundError",
    "backend_names",
    "default_backend",
    "load_backend",
    "register_backend",
]
