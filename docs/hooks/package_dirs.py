"""MkDocs hook: lay the package out as it is installed, so mkdocstrings can read every docstring.

pyproject.toml maps `edgeyolo.export` to `export/` and `edgeyolo.runtime` to `runtime/`
(`[tool.setuptools.package-dir]`). mkdocstrings reads sources by path and cannot follow that mapping, so
before each build this copies the Python files into `build/docs-src/` with the installed layout; the
`paths` of the mkdocstrings handler in mkdocs.yml point there. Nothing is imported.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mkdocs.plugins import event_priority

OUT = Path("build") / "docs-src"


def package_dirs(pyproject: Path) -> dict[str, str]:
    """The `[tool.setuptools.package-dir]` table: import name -> folder."""
    text = pyproject.read_text(encoding="utf-8")
    section = re.search(r"^\[tool\.setuptools\.package-dir\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if section is None:
        return {}
    return dict(re.findall(r'^"([\w.]+)"\s*=\s*"([^"]+)"', section.group(1), re.M))


def lay_out(root: Path, out: Path) -> None:
    """Copy the package's .py files from `root` to `out` in their installed layout."""
    if out.exists():
        shutil.rmtree(out)
    mapped = package_dirs(root / "pyproject.toml")
    copy_py = shutil.ignore_patterns("__pycache__", "*.pt", "*.onnx", "*.yaml")
    shutil.copytree(root / "edgeyolo", out / "edgeyolo", ignore=copy_py)
    for name, folder in mapped.items():
        shutil.copytree(root / folder, out.joinpath(*name.split(".")), ignore=copy_py)


@event_priority(100)  # before mkdocstrings reads its paths
def on_config(config):
    root = Path(config.config_file_path).parent
    lay_out(root, root / OUT)
    return config
