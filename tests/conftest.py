"""Shared test fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Blocks `import torch` (and submodules) in a child interpreter, to prove a code path is torch-free.
NO_TORCH_PRELUDE = """
import importlib.abc, sys
class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return None
sys.meta_path.insert(0, _NoTorch())
"""


def run_without_torch(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run Python `code` in a subprocess where torch cannot be imported."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH_PRELUDE + code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


@pytest.fixture(autouse=True)
def _single_thread_torch():
    """Keep torch from oversubscribing the 2-core CI machine."""
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    yield
