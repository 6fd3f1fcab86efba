"""Static INT8 QDQ ONNX by NNCF and by onnxruntime: a valid graph with the contract, the head kept in float,
symmetric activations on request, runnable by the runtime, and cached by the calibration key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from edgeyolo.data.synth import generate
from edgeyolo.errors import EdgeYoloError
from edgeyolo.export.calibration import find_calibration_images
from edgeyolo.export.graph_scopes import head_nodes, name_unnamed_nodes
from edgeyolo.export.int8_onnx import Int8Options, quantize_onnx
from edgeyolo.export.metadata import read_metadata, write_metadata
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime.detector import Detector

IMGSZ = (64, 64)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8")


@pytest.fixture(scope="module")
def fp32(work: Path) -> Path:
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5n-mobilenetv2", nc=3), seed=2).eval()
    model.names = ["a", "b", "c"]
    path = work / "fp32.onnx"
    export_onnx(model, path, OnnxExportOptions(imgsz=IMGSZ, report_unfused=False))
    return path


@pytest.fixture(scope="module")
def calib(work: Path):
    data = generate(work / "data", {"train": 20, "val": 2}, seed=7, imgsz=64, workers=1)
    return find_calibration_images(data, 20, lambda _: None)


@pytest.fixture(scope="module")
def quantized(fp32: Path, calib, work: Path) -> dict[str, tuple[Path, object]]:
    """One asymmetric minmax result per quantizer, computed once, with their own cache."""
    out = {}
    for quantizer in ("nncf", "ort"):
        path = work / f"{quantizer}.onnx"
        report = quantize_onnx(fp32, path, calib, Int8Options(quantizer=quantizer, cache_dir=work / "cache"))
        out[quantizer] = (path, report)
    return out


def _head_convs(fp32: Path) -> list[str]:
    graph = onnx.load(str(fp32)).graph
    name_unnamed_nodes(graph)
    return head_nodes(graph)


def _weight_is_quantized(graph: onnx.GraphProto) -> dict[str, bool]:
    """Conv name → whether its weight input comes out of a DequantizeLinear."""
    producer = {o: n for n in graph.node for o in n.output}
    return {
        n.name: producer.get(n.input[1]) is not None and producer[n.input[1]].op_type == "DequantizeLinear"
        for n in graph.node
        if n.op_type == "Conv"
    }


def _zero_points(graph: onnx.GraphProto) -> list[np.ndarray]:
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    values |= {
        n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node if n.op_type == "Constant"
    }
    return [values[n.input[2]] for n in graph.node if n.op_type == "QuantizeLinear" and len(n.input) > 2]


@pytest.mark.parametrize("quantizer", ["nncf", "ort"])
def test_result_is_a_valid_int8_model_with_the_contract(quantized, fp32: Path, quantizer: str) -> None:
    path, report = quantized[quantizer]
    onnx.checker.check_model(str(path), full_check=True)
    proto = onnx.load(str(path))
    contract = read_metadata(proto)
    assert contract.precision == "int8"
    assert dataclasses.replace(contract, precision="fp32") == read_metadata(onnx.load(str(fp32)))
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QuantizeLinear") == report.quantized_nodes > 10
    assert "DequantizeLinear" in ops
    assert report.calibration_images == 20 and report.cache_hit is False
    assert report.file_bytes == path.stat().st_size
    assert "INT8 (QDQ" in report.format()


@pytest.mark.parametrize("quantizer", ["nncf", "ort"])
def test_head_weights_stay_float_and_backbone_weights_are_int8(quantized, fp32: Path, quantizer: str) -> None:
    path, report = quantized[quantizer]
    head = _head_convs(fp32)
    assert len(head) == 3 and sorted(report.excluded_nodes) == sorted(head)
    quantized_weights = _weight_is_quantized(onnx.load(str(path)).graph)
    assert set(head) <= set(quantized_weights)
    assert not any(quantized_weights[n] for n in head)
    rest = [n for n in quantized_weights if n not in head]
    assert len(rest) > 30 and all(quantized_weights[n] for n in rest)


def test_the_head_is_quantized_when_asked(fp32: Path, calib, tmp_path: Path) -> None:
    path = tmp_path / "all.onnx"
    options = Int8Options(quantizer="ort", keep_head_float=False, cache_dir=tmp_path)
    assert quantize_onnx(fp32, path, calib, options).excluded_nodes == []
    quantized_weights = _weight_is_quantized(onnx.load(str(path)).graph)
    assert all(quantized_weights[n] for n in _head_convs(fp32))


@pytest.fixture(scope="module")
def symmetric(fp32: Path, calib, work: Path) -> dict[str, Path]:
    out = {}
    for quantizer in ("nncf", "ort"):
        out[quantizer] = work / f"{quantizer}-sym.onnx"
        options = Int8Options(quantizer=quantizer, symmetric=True, cache_dir=work / "cache")
        quantize_onnx(fp32, out[quantizer], calib, options)
    return out


@pytest.mark.parametrize("quantizer", ["nncf", "ort"])
def test_symmetric_activations_have_zero_points_of_zero(quantized, symmetric, quantizer: str) -> None:
    asymmetric = _zero_points(onnx.load(str(quantized[quantizer][0])).graph)
    assert any(np.any(z != 0) for z in asymmetric)  # the default really is asymmetric
    zero_points = _zero_points(onnx.load(str(symmetric[quantizer])).graph)
    assert len(zero_points) > 10
    assert all(np.all(z == 0) for z in zero_points)
    if quantizer == "ort":
        assert {z.dtype for z in zero_points} == {np.dtype(np.int8)}  # TensorRT takes signed INT8 only


def test_nncf_symmetric_writes_signed_int8_only(symmetric) -> None:
    """TensorRT's ONNX parser accepts only int8 Q/DQ; NNCF writes uint8 after ReLUs, rewritten by us."""
    assert {z.dtype for z in _zero_points(onnx.load(str(symmetric["nncf"])).graph)} == {np.dtype(np.int8)}


@pytest.mark.parametrize("quantizer", ["nncf", "ort"])
def test_the_runtime_runs_the_int8_model(quantized, fp32: Path, calib, quantizer: str) -> None:
    frame = cv2.imread(str(calib.images[0]))
    with Detector(fp32, conf=0.01) as ref, Detector(quantized[quantizer][0], conf=0.01) as det:
        assert det.contract.precision == "int8"
        x, _ = det.preprocess(frame)
        got, want = det.backend.infer(x), ref.backend.infer(x)
        assert [g.shape for g in got] == [w.shape for w in want]
        assert all(np.isfinite(g).all() for g in got)
        # the head stays float, so the logits follow the float model's closely
        for g, w in zip(got, want, strict=True):
            assert np.corrcoef(g.ravel(), w.ravel())[0, 1] > 0.9
        det.detect(frame)


@pytest.mark.parametrize("quantizer", ["nncf", "ort"])
def test_a_second_run_reuses_the_cache(quantized, fp32: Path, calib, work: Path, quantizer: str) -> None:
    first, _ = quantized[quantizer]
    again = work / f"{quantizer}-again.onnx"
    report = quantize_onnx(fp32, again, calib, Int8Options(quantizer=quantizer, cache_dir=work / "cache"))
    assert report.cache_hit is True
    assert "reused the cached calibration" in report.format()
    assert onnx.load(str(again)).SerializeToString() == onnx.load(str(first)).SerializeToString()


def test_another_method_misses_the_cache(fp32: Path, calib, tmp_path: Path) -> None:
    options = Int8Options(quantizer="ort", method="minmax", cache_dir=tmp_path / "cache")
    assert quantize_onnx(fp32, tmp_path / "a.onnx", calib, options).cache_hit is False
    assert quantize_onnx(fp32, tmp_path / "a.onnx", calib, options).cache_hit is True
    cached = set((tmp_path / "cache").iterdir())
    options.method = "percentile"
    report = quantize_onnx(fp32, tmp_path / "b.onnx", calib, options)
    assert report.cache_hit is False and report.method == "onnxruntime percentile"
    assert len(set((tmp_path / "cache").iterdir()) - cached) == 1  # its own cache entry
    onnx.checker.check_model(str(tmp_path / "b.onnx"))


def test_a_non_float32_model_is_refused(fp32: Path, calib, tmp_path: Path) -> None:
    proto = onnx.load(str(fp32))
    write_metadata(proto, dataclasses.replace(read_metadata(proto), precision="fp16"))
    half = tmp_path / "half.onnx"
    onnx.save(proto, str(half))
    out = tmp_path / "out.onnx"
    with pytest.raises(EdgeYoloError, match=r"starts from a float32 model.*fp16"):
        quantize_onnx(half, out, calib, Int8Options(cache_dir=tmp_path / "cache"))
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Int8Options(quantizer="tensorrt"), "quantizer must be one of nncf, ort"),
        (
            Int8Options(quantizer="ort", method="kl"),
            "--calib-method must be one of minmax, entropy, percentile",
        ),
    ],
)
def test_unknown_quantizer_or_method_is_refused(
    fp32: Path, calib, tmp_path: Path, options: Int8Options, message: str
) -> None:
    options.cache_dir = tmp_path / "cache"
    with pytest.raises(EdgeYoloError, match=message):
        quantize_onnx(fp32, tmp_path / "out.onnx", calib, options)
    assert list(tmp_path.iterdir()) == []
