"""`edgeyolo export` for the deployment targets: INT8 ONNX, OpenVINO IR and the refusals of bad requests.
Every refusal is a clear message, exit code 2 and nothing at the output path."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import onnx
import pytest

from edgeyolo.cli import main
from edgeyolo.data.synth import generate
from edgeyolo.export.metadata import read_metadata
from edgeyolo.runtime.contract import METADATA_KEY, Contract
from edgeyolo.runtime.detector import Detector

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
SMALL = ["--cfg", "yolov5n-mobilenetv2", "--nc", "3", "--imgsz", "64"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is written to the home directory's cache."""
    monkeypatch.setenv("EDGEYOLO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def data_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny labelled dataset: 20 calibration (train) images and 8 val images of 64 px."""
    return generate(
        tmp_path_factory.mktemp("cli-int8") / "d", {"train": 20, "val": 8}, seed=11, imgsz=64, workers=1
    )


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One calibration cache for the shipped-model INT8 runs, so the second reuses the first's work."""
    return tmp_path_factory.mktemp("cli-cache")


def _images(data_yaml: Path) -> list[Path]:
    return sorted((data_yaml.parent / "images" / "train").glob("*.png"))


def _nothing_at(out: Path) -> bool:
    """Neither the output nor a temporary beside it."""
    parent = out.parent
    return not out.exists() and (not parent.exists() or not any(parent.glob(f".{out.name}*")))


def _refused(argv: list[str], out: Path, capsys: pytest.CaptureFixture) -> str:
    assert main(["export", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "edgeyolo export: error: " in err
    assert _nothing_at(out)
    return err.split("edgeyolo export: error: ", 1)[1]


# -- refusals ---------------------------------------------------------------------------------------------
def test_int8_without_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    err = _refused([*SMALL, "--int8"], tmp_path / "m.onnx", capsys)
    assert "INT8 needs calibration images" in err and "--data" in err


def test_too_few_calibration_images(data_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "five"
    folder.mkdir()
    for f in _images(data_yaml)[:5]:
        shutil.copy2(f, folder / f.name)
    err = _refused([*SMALL, "--int8", "--data", str(folder)], tmp_path / "out" / "m.onnx", capsys)
    assert "holds 5 images" in err and "at least 20" in err


def test_calib_size_below_the_minimum(data_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = [*SMALL, "--int8", "--data", str(data_yaml), "--calib-size", "10"]
    assert "--calib-size must be at least 20" in _refused(argv, tmp_path / "m.onnx", capsys)


def test_data_without_int8(data_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert "--data is for INT8" in _refused([*SMALL, "--data", str(data_yaml)], tmp_path / "m.onnx", capsys)


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_an_unreadable_calibration_image(
    data_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str
) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for f in _images(data_yaml):
        shutil.copy2(f, folder / f.name)
    broken = folder / "000013.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))
    out = tmp_path / "out" / ("m.onnx" if fmt == "onnx" else "m-ir")
    err = _refused([*SMALL, "--format", fmt, "--int8", "--data", str(folder)], out, capsys)
    assert str(broken) in err and "cannot read calibration image" in err
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "onnx", "--dla", "0"], "--dla applies to TensorRT engines only (--format trt)"),
        (["--format", "openvino", "--workspace", "2"], "--workspace applies to TensorRT engines only"),
        (
            ["--format", "onnx", "--timing-cache", "t.cache"],
            "--timing-cache applies to TensorRT engines only",
        ),
        (["--format", "openvino", "--fp16", "--int8"], "choose one precision: --fp16 or --int8"),
        (["--format", "onnx", "--model", "m.onnx"], "--model is an exported model to start from"),
        (["--format", "triton", "--int8"], "--format triton serves an exported model"),
        (["--format", "trt"], "pip install 'edgeyolo[tensorrt]'"),
        (["--format", "trt", "--fp16", "--dla", "0"], "--format trt needs TensorRT, which is not installed"),
    ],
)
def test_unsupported_combinations(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    if "trt" in argv and HAS_TENSORRT:
        pytest.skip("TensorRT is installed: the missing-TensorRT message cannot be shown")
    out = tmp_path / "out" / "m.onnx"
    assert message in _refused([*SMALL, *argv], out, capsys)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


# -- successes ------------------------------------------------------------------------------------------
def test_openvino_fp32_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "exports" / "small-ir"
    assert main(["export", *SMALL, "--format", "openvino", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "OpenVINO verification PASSED" in text
    assert f"wrote {out}/" in text
    assert sorted(p.name for p in out.iterdir()) == ["model.bin", "model.xml"]
    assert [p.name for p in out.parent.iterdir()] == ["small-ir"]
    import openvino as ov

    rt = ov.Core().read_model(str(out / "model.xml")).get_rt_info([METADATA_KEY])
    contract = Contract.from_json(str(rt.value))
    assert contract.precision == "fp32" and contract.imgsz == (64, 64) and contract.nc == 3
    with Detector(out) as det:
        assert det.backend.name == "openvino"


def test_onnx_int8_of_the_shipped_model(
    data_yaml: Path, shared_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "shapes-int8.onnx"
    argv = ["export", "--imgsz", "64", "--int8", "--data", str(data_yaml), "--cache-dir", str(shared_cache)]
    assert main([*argv, "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "calibrating on only 20 images" in captured.err  # fewer than recommended: warned, not refused
    assert "INT8 (QDQ by nncf, onnxruntime layout" in captured.out  # the default layout, said so
    assert "INT8 verification PASSED" in captured.out
    assert f"wrote {out}" in captured.out
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    contract = read_metadata(proto)
    assert contract.precision == "int8" and contract.imgsz == (64, 64)
    assert contract.names == ("circle", "square", "triangle", "star", "cross")
    assert any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    assert [p.name for p in tmp_path.iterdir()] == ["shapes-int8.onnx"]
    assert any(shared_cache.iterdir())
    assert not (tmp_path / "cache").exists()  # --cache-dir wins over $EDGEYOLO_CACHE


def test_a_failed_int8_verification_writes_nothing(
    data_yaml: Path, shared_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "shapes-int8.onnx"
    argv = ["export", "--imgsz", "64", "--int8", "--data", str(data_yaml), "--cache-dir", str(shared_cache)]
    assert main([*argv, "--int8-max-drop", "-1", "-o", str(out)]) == 1  # a failed verification
    captured = capsys.readouterr()
    assert "INT8 verification FAILED" in captured.out
    assert "loses too much accuracy; nothing was written" in captured.err
    assert list(tmp_path.iterdir()) == []


# -- review findings: outputs that would lose data, options that would be ignored -------------------------
def test_openvino_output_folder_with_other_files_is_refused(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    assert main(["export", *SMALL, "--format", "openvino", "-o", str(folder)]) == 2
    assert "holds other files (notes.txt)" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == "precious"


@pytest.mark.parametrize("target", ["afile", ".", "m.xml"])
def test_openvino_output_must_be_a_new_folder(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    assert main(["export", *SMALL, "--format", "openvino", "-o", target]) == 2
    assert "edgeyolo export: error: -o " in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["afile"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--int8", "--calib-method", "entropy"], "--calib-method is a setting of --quantizer ort"),
        (["--int8", "--int8-source", "qdq"], "--int8-source does not apply"),
        (["--format", "openvino", "--int8", "--quantizer", "ort"], "not NNCF on the IR"),
        (["--format", "openvino", "--int8", "--int8-exclude-se"], "not NNCF on the IR"),
        (["--quantizer", "ort"], "--quantizer needs --int8"),
        (["--int8", "--quantizer", "ort", "--int8-target", "openvino"], "--quantizer ort has its own layout"),
        (
            ["--format", "openvino", "--int8", "--int8-target", "openvino"],
            "--int8-target is for --format onnx",
        ),
        (["--int8-target", "tensorrt"], "--int8-target needs --int8"),
    ],
)
def test_options_the_path_would_ignore_are_refused(
    argv: list[str], message: str, data_yaml: Path, tmp_path: Path, capsys
) -> None:
    data = ["--data", str(data_yaml)] if "--int8" in argv else []
    assert message in _refused([*SMALL, *argv, *data], tmp_path / "out" / "m", capsys)


def test_openvino_json_is_one_object_for_the_ir(tmp_path: Path, capsys) -> None:
    import json

    out = tmp_path / "ir"
    assert main(["export", *SMALL, "--format", "openvino", "-o", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["path"] == f"{out}/" and record["precision"] == "fp32"
    assert record["verification"]["ok"] is True


def test_fp16_ir_runs_in_f32_on_cpu(tmp_path: Path) -> None:
    """An fp16 IR has fp16 weights; the CPU must not silently compute in bf16 (it would, given f16)."""
    out = tmp_path / "ir16"
    assert main(["export", *SMALL, "--format", "openvino", "--fp16", "-o", str(out), "--no-verify"]) == 0
    with Detector(out) as det:
        assert det.contract.precision == "fp16"
        assert det.backend.details["inference_precision"] == "f32"
