"""Errors the CLI reports as a one-line message and an exit status (no traceback).

The root and `require` are defined in `edgeyolo.runtime.errors` so the torch-free runtime shares them.
"""

from __future__ import annotations

from edgeyolo.runtime.errors import EdgeYoloError, FailedError, MissingDependencyError, require

__all__ = ["EdgeYoloError", "FailedError", "MissingDependencyError", "require"]
