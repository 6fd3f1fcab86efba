"""The one error root of edgeyolo. It lives in the runtime (the layer everything else may import) and
`edgeyolo.errors` re-exports it.

The CLI catches `EdgeYoloError`, prints its message on one line and exits with its `exit_code`:
2 for a refused request or bad input, 1 for an operation that ran and failed (verification, inference).
"""

from __future__ import annotations

import importlib
from types import ModuleType


class EdgeYoloError(Exception):
    """Base of every error edgeyolo raises on purpose with a message meant for the user."""

    exit_code: int = 2


class FailedError(EdgeYoloError):
    """An operation that was valid to ask for ran and failed (a verification, an inference)."""

    exit_code = 1


class MissingDependencyError(EdgeYoloError, ImportError):
    """An optional library is not installed; the message names the extra that provides it."""


def require(
    module: str,
    extra: str | None,
    purpose: str,
    error: type[MissingDependencyError] = MissingDependencyError,
) -> ModuleType:
    """Import an optional library, or raise `error` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        fix = f"pip install 'edgeyolo[{extra}]'" if extra else f"pip install {package}"
        raise error(f"{purpose} needs {package}, which is not installed: {fix}") from exc


__all__ = ["EdgeYoloError", "FailedError", "MissingDependencyError", "require"]
