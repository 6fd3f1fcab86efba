"""The layer rules hold over the whole tree, and the checker catches a planted violation of each kind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.boundaries import PACKAGES, violations

ROOT = Path(__file__).resolve().parents[1]


def test_the_tree_keeps_the_layer_rules() -> None:
    assert violations(ROOT) == []


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for folder in PACKAGES:
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pt")
        )
    return tmp_path


@pytest.mark.parametrize(
    ("file", "line", "expected"),
    [
        ("runtime/letterbox.py", "import torch\n", "imports torch"),
        ("runtime/nms.py", "from edgeyolo.export.onnx import export_onnx\n", "imports edgeyolo.export.onnx"),
        (
            "runtime/detector.py",
            "def _late():\n    return __import__('importlib').import_module('edgeyolo.models.yolo')\n",
            "imports edgeyolo.models.yolo",
        ),
        (
            "runtime/backends/__init__.py",
            "TORCH = 'edgeyolo.models.torch_backend:TorchBackend'\n",
            "imports edgeyolo.models.torch_backend",
        ),
        (
            "export/onnx.py",
            "from edgeyolo.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend\n",
            "backend implementations are private",
        ),
        ("edgeyolo/models/yolo.py", "from edgeyolo.export import export\n", "model zoo is below export"),
        ("export/api.py", "from edgeyolo.commands import export as cli\n", "export is below the CLI"),
    ],
)
def test_a_planted_forbidden_import_is_caught(tree_copy: Path, file: str, line: str, expected: str) -> None:
    path = tree_copy / file
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line, encoding="utf-8")
    found = violations(tree_copy)
    assert found and all(f.startswith(file) for f in found) and expected in found[0], found
