"""Errors the CLI reports as a one-line message and a non-zero exit (no traceback)."""

from __future__ import annotations


class EdgeYoloError(Exception):
    """Base of every error edgeyolo raises on purpose with a message meant for the user."""


class MissingDependencyError(EdgeYoloError, ImportError):
    """An optional library is not installed; the message names the extra that provides it."""


def require(module: str, extra: str, purpose: str):
    """Import an optional library or fail with the `pip install 'edgeyolo[extra]'` that fixes it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs {module.split('.')[0]}, which is not installed: pip install 'edgeyolo[{extra}]'"
        ) from exc
