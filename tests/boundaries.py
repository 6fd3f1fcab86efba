"""The layer rules of DESIGN.md §1 as a checker over source files: every import, including imports inside
functions and modules named by string (`importlib.import_module("...")`, `__import__`, "pkg.mod:Name")."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

# folder -> import name (pyproject's package-dir)
PACKAGES = {"edgeyolo": "edgeyolo", "export": "edgeyolo.export", "runtime": "edgeyolo.runtime"}
RUNTIME_THIRD_PARTY = {"numpy", "cv2", "onnxruntime", "openvino", "tensorrt", "cuda"}
# runtime modules only the runtime itself may import: the backends' implementations
PRIVATE_RUNTIME = re.compile(r"^edgeyolo\.runtime\.backends\.(?!base$)\w+$")
STRING_MODULE = re.compile(r"^(edgeyolo(?:\.\w+)+):\w+$")  # "pkg.module:Name", as entry points name them


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root)
    parts = [PACKAGES[rel.parts[0]], *rel.with_suffix("").parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str, modules: set[str]) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in `path`, string-named ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from edgeyolo.runtime.backends import tensorrt_backend`
                if f"{name}.{alias.name}" in modules:
                    yield node.lineno, f"{name}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = STRING_MODULE.match(node.value)
            if match:
                yield node.lineno, match.group(1)


def rule(module: str, imported: str) -> str | None:
    """Why `module` may not import `imported`, or None."""
    root = imported.split(".")[0]
    if module.startswith("edgeyolo.runtime"):
        if root == "edgeyolo" and not imported.startswith("edgeyolo.runtime"):
            return "the runtime imports nothing outside edgeyolo.runtime"
        if root != "edgeyolo" and root not in RUNTIME_THIRD_PARTY | set(sys.stdlib_module_names) | {
            "__future__"
        }:
            return (
                "the runtime may import only numpy, OpenCV, its backends' libraries and the standard library"
            )
        return None
    if PRIVATE_RUNTIME.match(imported):
        return "backend implementations are private to the runtime: use edgeyolo.runtime (load_backend)"
    if module.startswith("edgeyolo.export"):
        if imported.startswith(("edgeyolo.commands", "edgeyolo.cli", "edgeyolo.bench")):
            return "export is below the CLI and the bench"
        return None
    upper = ("edgeyolo.export", "edgeyolo.commands", "edgeyolo.cli", "edgeyolo.bench")
    if module.startswith("edgeyolo.models") and imported.startswith(upper):
        return "the model zoo is below export, the bench and the CLI"
    if imported.startswith("edgeyolo.commands") and not module.startswith(
        ("edgeyolo.commands", "edgeyolo.cli")
    ):
        return "only the CLI imports its subcommands"
    return None


def violations(root: Path) -> list[str]:
    """Every import in the tree at `root` (holding edgeyolo/, export/, runtime/) that breaks a layer rule."""
    files = {module_name(root, p): p for folder in PACKAGES for p in sorted((root / folder).rglob("*.py"))}
    found = []
    for module, path in files.items():
        for line, imported in imports(path, module, set(files)):
            why = rule(module, imported)
            if why:
                found.append(f"{path.relative_to(root)}:{line} imports {imported}: {why}")
    return found
