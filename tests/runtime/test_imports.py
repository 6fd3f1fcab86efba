"""The runtime imports only numpy, OpenCV and the standard library, and imports cheaply."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
ALLOWED = {"numpy", "cv2", "edgeyolo", "__future__"} | set(sys.stdlib_module_names)


def test_runtime_modules_import_only_numpy_cv2_and_the_standard_library():
    files = sorted(RUNTIME.glob("*.py"))
    assert len(files) >= 6
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module or ""]
            else:
                continue
            for name in roots:
                assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"
                if name.startswith("edgeyolo"):
                    assert name.startswith("edgeyolo.runtime"), f"{path.name} imports {name}"


def test_import_loads_no_inference_or_training_library():
    heavy = ("torch", "onnxruntime", "onnx", "openvino", "tensorrt")
    code = f"import sys, edgeyolo.runtime\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
