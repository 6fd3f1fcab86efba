"""`edgeyolo.export.export`: the one Python path every target goes through (CLI, bench, Docker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeyolo.errors import EdgeYoloError
from edgeyolo.export import ExportRequest, ExportResult, export
from edgeyolo.models import create_model
from edgeyolo.models.checkpoint import save_checkpoint
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.runtime import Detector
from edgeyolo.runtime.artifact import ArtifactKind, artifact_kind, read_contract


@pytest.fixture(scope="module")
def model():
    m = create_model("yolov5n-mobilenetv2", nc=3)
    randomize_batchnorm(m, seed=3)
    return m.eval()


def test_a_model_exports_to_a_verified_onnx(model, tmp_path: Path) -> None:
    lines: list[str] = []
    result = export(model, output=tmp_path / "m.onnx", imgsz=(64, 64), log=lines.append)
    assert isinstance(result, ExportResult) and result.path == tmp_path / "m.onnx"
    assert result.verification["ok"] and result.verification["max_rel_error"] <= 1e-4
    assert result.record["verified"] is True and "PASSED" in result.text
    assert read_contract(result.path).imgsz == (64, 64)


def test_a_checkpoint_is_loaded_once_with_its_own_size(model, tmp_path: Path) -> None:
    weights = save_checkpoint(tmp_path / "best.pt", model, names=["a", "b", "c"], imgsz=96)
    result = export(weights, ExportRequest())
    assert result.path == tmp_path / "best.onnx"  # beside the weights
    contract = read_contract(result.path)
    assert contract.imgsz == (96, 96) and contract.names == ("a", "b", "c")


def test_an_onnx_source_becomes_an_ir_verified_against_it(model, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    onnx_path = export(model, output=tmp_path / "m.onnx", imgsz=(64, 64)).path
    result = export(onnx_path, format="openvino", output=tmp_path / "ir")
    assert artifact_kind(result.path) is ArtifactKind.OPENVINO
    assert result.verification["ok"] and "inference precision f32" in result.verification["detail"]
    frame = np.random.default_rng(0).integers(0, 255, (80, 60, 3), dtype=np.uint8)
    with Detector(onnx_path, conf=0.01) as a, Detector(result.path, conf=0.01, precision="f32") as b:
        da, db = a.detect(frame), b.detect(frame)
    assert len(da) == len(db)
    np.testing.assert_allclose(da.xyxy, db.xyxy, atol=1e-2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"imgsz": (128, 128), "format": "openvino"}, "--imgsz shape the ONNX export"),
        ({"format": "onnx"}, "exports from a checkpoint or a model"),
        ({"format": "trt"}, "exports from a checkpoint or a model"),
    ],
)
def test_an_onnx_source_refuses_what_it_cannot_honour(model, tmp_path: Path, changes, message) -> None:
    onnx_path = export(model, output=tmp_path / "m.onnx", imgsz=(64, 64)).path
    with pytest.raises(EdgeYoloError, match=message):
        export(onnx_path, output=tmp_path / "out", **changes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_a_source_that_is_no_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EdgeYoloError, match="cannot export a list"):
        export([1, 2, 3])
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(EdgeYoloError, match="cannot tell what"):
        export(notes)
