"""The shipped model: a small trained checkpoint and its ONNX export, kept in sync."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from edgeyolo.defaults import shipped_onnx, shipped_weights

torch = pytest.importorskip("torch")
from edgeyolo.data.synth import CLASSES, generate  # noqa: E402
from edgeyolo.export.metadata import read_metadata, sha256_file  # noqa: E402
from edgeyolo.export.verify import verify_onnx  # noqa: E402
from edgeyolo.models.checkpoint import load_checkpoint, load_model  # noqa: E402
from edgeyolo.val import evaluate_model  # noqa: E402


def test_checkpoint_is_small_and_loads_weights_only() -> None:
    path = shipped_weights()
    assert path.stat().st_size <= 10 * 1024 * 1024
    ckpt = load_checkpoint(path)  # torch.load(weights_only=True) underneath
    assert ckpt.names == list(CLASSES)
    assert "train" not in ckpt.meta  # no optimiser state shipped


def test_onnx_is_the_export_of_the_shipped_checkpoint() -> None:
    meta = read_metadata(onnx.load(str(shipped_onnx())))
    assert meta.source_sha256 == sha256_file(shipped_weights())
    assert meta.names == tuple(CLASSES) and meta.outputs == "raw"
    result = verify_onnx(shipped_onnx(), load_model(shipped_weights()), meta, batch=1)
    assert result.ok, result.detail


def test_it_detects_shapes(tmp_path: Path) -> None:
    data = generate(tmp_path / "check", {"val": 24}, seed=123, imgsz=256)
    result = evaluate_model(shipped_onnx(), data, progress=False)
    assert result.images == 24 and result.map50 > 0.4  # a trained model, not random weights
