"""OpenVINO IR export (FP32/FP16/INT8), its verification against PyTorch, the contract in rt_info, atomic
directory output, and the runtime's IR backend."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from edgeyolo.data.synth import generate
from edgeyolo.errors import EdgeYoloError
from edgeyolo.export.calibration import find_calibration_images
from edgeyolo.export.int8_onnx import Int8Options, quantize_onnx
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.export.openvino import export_openvino, ir_xml
from edgeyolo.export.verify import EXPORT_VS_TORCH, verify_openvino
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime.backends import BackendError, default_backend, load_backend
from edgeyolo.runtime.contract import METADATA_KEY, Contract
from edgeyolo.runtime.detector import Detector

ov = pytest.importorskip("openvino")

IMGSZ = (64, 64)


def _model(seed: int):
    torch.manual_seed(seed)
    model = randomize_batchnorm(create_model("yolov5n-mobilenetv2", nc=3), seed=seed + 2).eval()
    model.names = ["a", "b", "c"]
    return model


@pytest.fixture(scope="module")
def model():
    return _model(0)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openvino")


@pytest.fixture(scope="module")
def exported(model, work: Path) -> tuple[Path, Contract]:
    path = work / "fp32.onnx"
    _, contract = export_onnx(model, path, OnnxExportOptions(imgsz=IMGSZ, report_unfused=False))
    return path, contract


@pytest.fixture(scope="module")
def calib(work: Path):
    data = generate(work / "data", {"train": 20, "val": 2}, seed=3, imgsz=64, workers=1)
    return find_calibration_images(data, 20, lambda _: None)


@pytest.fixture(scope="module")
def irs(exported, work: Path) -> dict[str, Path]:
    onnx_path, contract = exported
    out = {}
    for precision in ("fp32", "fp16"):
        out[precision] = work / "ir" / precision / "model"
        report = export_openvino(onnx_path, out[precision], contract, precision)
        assert report.precision == precision and report.file_bytes > 0
    return out


def _bin_size(ir: Path) -> int:
    return (ir / "model.bin").stat().st_size


def _rt_contract(ir: Path) -> Contract:
    model = ov.Core().read_model(str(ir / "model.xml"))
    return Contract.from_json(str(model.get_rt_info([METADATA_KEY]).value))


def test_fp32_ir_matches_pytorch(irs, exported, model) -> None:
    _, contract = exported
    result = verify_openvino(irs["fp32"], model, contract, batch=1)
    assert result.ok, result.detail
    assert result.max_rel_error <= 1e-4
    assert "inference precision f32" in result.detail


def test_verification_catches_another_model(irs, exported) -> None:
    _, contract = exported
    assert not verify_openvino(irs["fp32"], _model(5), contract, batch=1).ok


def test_fp16_ir_is_smaller_and_within_the_fp16_tolerance(irs, exported, model) -> None:
    _, contract = exported
    assert _bin_size(irs["fp16"]) < 0.6 * _bin_size(irs["fp32"])
    half = dataclasses.replace(contract, precision="fp16")
    result = verify_openvino(irs["fp16"], model, half, batch=1)
    assert result.ok, result.detail
    assert result.max_rel_error <= EXPORT_VS_TORCH["fp16"]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_the_contract_round_trips_through_rt_info(irs, exported, precision: str) -> None:
    _, contract = exported
    assert _rt_contract(irs[precision]) == dataclasses.replace(contract, precision=precision)
    with Detector(irs[precision]) as det:
        assert det.contract == dataclasses.replace(contract, precision=precision)
        assert det.backend.name == "openvino"


def test_output_is_a_directory_with_xml_and_bin_only(irs) -> None:
    for ir in irs.values():
        assert ir.is_dir()
        assert sorted(p.name for p in ir.iterdir()) == ["model.bin", "model.xml"]
        assert [p.name for p in ir.parent.iterdir()] == ["model"]  # no temporary left beside it
        assert ir_xml(ir) == ir / "model.xml"


def test_export_replaces_an_existing_ir(exported, tmp_path: Path) -> None:
    onnx_path, contract = exported
    out = tmp_path / "ir"
    out.mkdir()
    (out / "stale.txt").write_text("from an older export")
    export_openvino(onnx_path, out, contract, "fp32")
    assert sorted(p.name for p in out.iterdir()) == ["model.bin", "model.xml"]
    assert [p.name for p in tmp_path.iterdir()] == ["ir"]


def test_int8_via_nncf(exported, calib, tmp_path: Path) -> None:
    onnx_path, contract = exported
    out = tmp_path / "nncf"
    report = export_openvino(onnx_path, out, contract, "int8", calib, int8_source="nncf")
    assert report.int8_source == "nncf" and report.calibration_images == 20
    assert report.ignored_nodes >= 3
    assert sorted(p.name for p in out.iterdir()) == ["model.bin", "model.xml"]
    assert _rt_contract(out).precision == "int8"
    ops = {op.get_type_name() for op in ov.Core().read_model(str(out / "model.xml")).get_ops()}
    assert "FakeQuantize" in ops
    with Detector(out) as det:
        assert det.contract.precision == "int8"
        det.detect(np.full((48, 80, 3), 90, np.uint8))


def test_int8_via_qdq(exported, calib, tmp_path: Path) -> None:
    onnx_path, contract = exported
    qdq = tmp_path / "qdq.onnx"
    quantize_onnx(onnx_path, qdq, calib, Int8Options(quantizer="ort", cache_dir=tmp_path / "cache"))
    out = tmp_path / "qdq-ir"
    report = export_openvino(onnx_path, out, contract, "int8", int8_source="qdq", qdq_onnx=qdq)
    assert report.int8_source == "qdq"
    assert _rt_contract(out).precision == "int8"
    with Detector(out) as det:
        assert det.contract.precision == "int8"
        det.detect(np.full((64, 64, 3), 200, np.uint8))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"precision": "int4"}, "precision must be one of fp32, fp16, bf16, int8"),
        ({"precision": "int8", "int8_source": "pot"}, "--int8-source must be one of nncf, qdq"),
        ({"precision": "int8"}, "needs calibration images: pass --data"),
        ({"precision": "int8", "int8_source": "qdq"}, "needs the quantized ONNX file"),
    ],
)
def test_impossible_requests_are_refused_and_leave_nothing(
    exported, tmp_path: Path, kwargs: dict, message: str
) -> None:
    onnx_path, contract = exported
    with pytest.raises(EdgeYoloError, match=message):
        export_openvino(onnx_path, tmp_path / "ir", contract, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_an_unconvertible_file_is_an_export_error(exported, tmp_path: Path) -> None:
    _, contract = exported
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(EdgeYoloError, match="OpenVINO cannot convert"):
        export_openvino(junk, tmp_path / "ir", contract, "fp32")
    assert [p.name for p in tmp_path.iterdir()] == ["junk.onnx"]


def test_an_ir_directory_selects_the_openvino_backend(irs, tmp_path: Path) -> None:
    assert default_backend(irs["fp32"]) == "openvino"
    backend = load_backend(irs["fp32"])
    try:
        assert backend.name == "openvino" and backend.contract.precision == "fp32"
    finally:
        backend.close()
    empty = tmp_path / "not-an-ir"
    empty.mkdir()
    (empty / "model.bin").write_bytes(b"")
    with pytest.raises(BackendError, match=r"directory without an OpenVINO model\.xml"):
        load_backend(empty)
    with pytest.raises(BackendError, match=r"without an OpenVINO model\.xml"):
        Detector(empty)
