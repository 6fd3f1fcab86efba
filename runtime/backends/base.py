"""The interface every backend implements (DESIGN.md §4): load, infer, close."""

from __future__ import annotations

import abc
from pathlib import Path
from types import ModuleType

import numpy as np

from edgeyolo.runtime.contract import Contract
from edgeyolo.runtime.errors import EdgeYoloError, MissingDependencyError, require


class BackendError(EdgeYoloError, RuntimeError):
    """A backend cannot load or run a model."""


class MissingBackendError(BackendError, MissingDependencyError):
    """The library a backend needs is not installed; the message names the extra."""


def require_library(module: str, extra: str | None, backend: str) -> ModuleType:
    """Import a backend's library on first use, or raise `MissingBackendError` saying what installs it."""
    return require(module, extra, f"the {backend} backend", MissingBackendError)


class Backend(abc.ABC):
    """Runs one model. `infer` is safe to call from several threads at once."""

    name: str = "backend"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.contract: Contract  # set by load()
        self.input_dtype: np.dtype = np.dtype(np.float32)
        self.fixed_batch: int | None = None  # a static batch dimension, if the model has one
        self.details: dict[str, str] = {}  # what actually runs (provider, device, precision)

    @abc.abstractmethod
    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Run the model on one input tensor; returns its outputs in order."""

    def close(self) -> None:  # noqa: B027 - backends without resources need nothing here
        """Release the model and its sessions/requests."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
