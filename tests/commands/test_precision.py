"""`--precision` on detect, val and bench, and `export --format openvino --bf16`, through the CLI: what ran is
reported, what cannot run is refused in one line (exit 2), never ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeyolo.cli import main
from edgeyolo.defaults import shipped_onnx

ov = pytest.importorskip("openvino")
from edgeyolo.data.synth import generate  # noqa: E402

ONNX = str(shipped_onnx())
QUICK = ["--iters", "3", "--warmup", "1", "--quiet"]
HERE_BF16 = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
NATIVE = "bf16" if HERE_BF16 else "fp32"  # what --precision auto runs on this CPU


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("prec") / "d", {"val": 4}, seed=1, imgsz=320, workers=1)


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_bench_compares_precisions_side_by_side(tmp_path: Path) -> None:
    j = tmp_path / "b.json"
    args = ["bench", "--model", ONNX, "--backend", "openvino", "--precision", "fp32", "auto", *QUICK]
    assert main([*args, "--json", str(j)]) == 0
    doc = json.loads(j.read_text())
    assert doc["settings"]["precision"] == ["fp32", "auto"]
    rows = doc["models"]
    assert [m["compute_precision"] for m in rows] == ["fp32", NATIVE]
    assert rows[0]["name"].endswith("[fp32]") and rows[1]["name"].endswith("[auto]")


def test_bench_precision_needs_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--precision", "bf16", *QUICK]) == 2
    assert "--precision need --model" in _one_line_error(capsys)


def test_detect_refuses_a_precision_its_backend_cannot_run(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = str(data.parent / "images" / "val")
    assert main(["detect", "--model", ONNX, "--source", images, "--precision", "bf16"]) == 2
    assert "--backend openvino" in _one_line_error(capsys)
    assert (
        main(["detect", "--model", ONNX, "--source", images, "--backend", "openvino", "--precision", "auto"])
        == 0
    )
    assert f"openvino {NATIVE})" in capsys.readouterr().err


def test_val_reports_the_precision_that_ran(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["val", "--data", str(data), "--model", ONNX, "--backend", "openvino", "--precision", "auto"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["precision"] == NATIVE


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bf16"], "--bf16 marks an OpenVINO IR"),
        (["--format", "openvino", "--bf16", "--int8"], "choose one precision"),
        (["--format", "openvino", "--data", "x.yaml"], "--data is for INT8 calibration and the mAP check"),
    ],
)
def test_export_refuses_impossible_bf16_requests(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", *extra, "-o", str(tmp_path / "out")]) == 2
    assert message in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_export_bf16_ir_is_marked_verified_by_map_and_runs_bf16(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    from edgeyolo.runtime import Detector

    out = tmp_path / "ir"
    args = ["export", "--format", "openvino", "--bf16", "--imgsz", "320", "--data", str(data), "-o", str(out)]
    assert main([*args, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["precision"] == "bf16" and record["verification"]["ok"]
    if HERE_BF16:
        assert record["bf16_verification"]["metrics"]["max_drop"] == 0.3
    else:
        assert record["bf16_verification"] is None
    with Detector(out) as det:
        assert det.contract.precision == "bf16"
        assert det.backend.details["precision"] == NATIVE
    with Detector(out, precision="fp32") as det:
        assert det.backend.details["precision"] == "fp32"
