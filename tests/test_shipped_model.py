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


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The held-out set of docs/measurements.md: 300 images of seed 1 (the model was trained on seed 0)."""
    return generate(tmp_path_factory.mktemp("heldout"), {"val": 300}, seed=1, imgsz=256)


@pytest.mark.slow  # two models on 300 images; it is the acceptance check, so it runs by default
def test_meets_the_accuracy_target_on_the_held_out_set(held_out: Path) -> None:
    onnx_result = evaluate_model(shipped_onnx(), held_out, progress=False)
    torch_result = evaluate_model(shipped_weights(), held_out, progress=False)
    assert onnx_result.images == torch_result.images == 300
    assert onnx_result.map50 >= 0.90 and onnx_result.map50_95 >= 0.65, onnx_result.format_table()
    assert abs(onnx_result.map50 - torch_result.map50) <= 0.002
    assert abs(onnx_result.map50_95 - torch_result.map50_95) <= 0.002
