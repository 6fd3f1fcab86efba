"""YAML read safely, with errors a user can act on in one line."""

from __future__ import annotations

from typing import Any

import yaml


class YamlTextError(ValueError):
    """Text that is not usable YAML; the message is one line with the line and column."""


def describe(exc: yaml.YAMLError) -> str:
    """A one-line description of a PyYAML error: what went wrong and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, raising YamlTextError (one line) for any YAML problem, including nesting so
    deep that the parser would exhaust Python's recursion limit."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise YamlTextError(f"not valid YAML: {describe(exc)}") from None
    except RecursionError:
        raise YamlTextError("not usable YAML: nested too deeply") from None
