"""Model YAML files: find them by name or path, read them, and remember each layer row's line number.

No torch here: `edgeyolo info --json` and the CLI can read configs cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from edgeyolo.errors import EdgeYoloError
from edgeyolo.yaml_text import YamlTextError, safe_load

SECTIONS = ("backbone", "head")


class ModelConfigError(EdgeYoloError, ValueError):
    """A model YAML is unreadable or describes an impossible model; the message names the line."""


@dataclass
class ModelConfig:
    """A parsed model YAML with the source line of every layer row."""

    data: dict[str, Any]
    text: str
    source: str
    lines: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Path(self.source).stem

    def where(self, section: str, pos: int) -> str:
        line = self.lines.get((section, pos))
        return f"{self.source}:{line}" if line else f"{self.source} ({section}[{pos}])"

    def rows(self) -> list[tuple[str, int, Any]]:
        """(section, position, row) for every layer row in order."""
        return [(s, i, row) for s in SECTIONS for i, row in enumerate(self.data.get(s) or [])]


def available_configs() -> list[str]:
    """Names of the configs shipped with edgeyolo."""
    root = resources.files("edgeyolo.configs")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A path to a YAML file, or the name of a shipped config (with or without `.yaml`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.parent == Path("."):
        shipped = resources.files("edgeyolo.configs") / f"{path.name.removesuffix('.yaml')}.yaml"
        if shipped.is_file():
            return Path(str(shipped))
    raise ModelConfigError(
        f"no model config {str(name_or_path)!r}: not a file, and not one of the shipped configs "
        f"({', '.join(available_configs())})"
    )


def load_config(name_or_path: str | Path) -> ModelConfig:
    """Read a model YAML by shipped name or path."""
    path = resolve_config_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelConfigError(f"cannot read model config {path}: {exc}") from exc
    return parse_config_text(text, path.name if not Path(name_or_path).is_file() else str(path))


def parse_config_text(text: str, source: str = "<yaml>") -> ModelConfig:
    """Parse YAML text into a ModelConfig, checking the top-level structure."""
    try:
        data = safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except YamlTextError as exc:
        raise ModelConfigError(f"{source}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelConfigError(f"{source}: a model config must be a mapping with backbone and head")
    for key in SECTIONS:
        if not isinstance(data.get(key), list) or not data[key]:
            raise ModelConfigError(
                f"{source}: '{key}' must be a non-empty list of [from, number, module, args]"
            )
    lines: dict[tuple[str, int], int] = {}
    for key_node, value_node in root.value:
        if key_node.value in SECTIONS and isinstance(value_node, yaml.SequenceNode):
            for pos, item in enumerate(value_node.value):
                lines[(key_node.value, pos)] = item.start_mark.line + 1
    return ModelConfig(data=data, text=text, source=source, lines=lines)
