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


def test_a_checkpoint_is_loaded_once_with_its_own_size(model, tmp_path: Path, monkeypatch) -> None:
    from edgeyolo.models import checkpoint

    weights = save_checkpoint(tmp_path / "best.pt", model, names=["a", "b", "c"], imgsz=96)
    loads: list[str] = []
    original = checkpoint.load_checkpoint
    monkeypatch.setattr(
        checkpoint, "load_checkpoint", lambda *a, **k: loads.append(a[0]) or original(*a, **k)
    )
    result = export(weights, ExportRequest())
    assert len(loads) == 1
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
    with Detector(onnx_path, conf=0.01) as a, Detector(result.path, conf=0.01, precision="fp32") as b:
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


def test_an_onnx_source_keeps_its_own_batch_and_a_missing_one_is_refused(model, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    onnx_path = export(model, output=tmp_path / "b2.onnx", imgsz=(64, 64), batch=2).path
    result = export(onnx_path, format="openvino", output=tmp_path / "ir")
    assert result.verification["ok"]
    with pytest.raises(EdgeYoloError, match="does not exist"):
        export(tmp_path / "missing.onnx", format="openvino")


def test_an_fp16_onnx_source_is_refused_not_mislabelled(model, tmp_path: Path) -> None:
    onnx_path = export(model, output=tmp_path / "h.onnx", imgsz=(64, 64), half=True).path
    with pytest.raises(EdgeYoloError, match="is a fp16 export"):
        export(onnx_path, format="openvino", output=tmp_path / "ir")
    assert not (tmp_path / "ir").exists()


def test_the_callers_model_is_left_as_it_was(tmp_path: Path) -> None:
    model = create_model("yolov5n-mobilenetv2", nc=3).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export(model, output=tmp_path / "m.onnx", imgsz=(64, 64))
    assert model.training and all(v.dtype == before[k].dtype for k, v in model.state_dict().items())
    assert all((v == before[k]).all() for k, v in model.state_dict().items())


def test_the_cli_exports_an_onnx_to_serving_files_without_torch(model, tmp_path: Path) -> None:
    from tests.conftest import run_without_torch

    onnx_path = export(model, output=tmp_path / "m.onnx", imgsz=(64, 64), dynamic="batch").path
    repo = tmp_path / "repo"
    argv = ["export", "--model", str(onnx_path), "--format", "triton", "--repo", str(repo)]
    code = f"import sys\nfrom edgeyolo.cli import main\nrc = main({argv!r})\n"
    code += "assert 'torch' not in sys.modules\nsys.exit(rc)\n"
    proc = run_without_torch(code)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "m" / "config.pbtxt").is_file()
    missing = run_without_torch("import sys\nfrom edgeyolo.cli import main\nsys.exit(main(['export']))\n")
    assert missing.returncode == 2 and "pip install 'edgeyolo[export]'" in missing.stderr, missing.stderr
    assert "Traceback" not in missing.stderr
