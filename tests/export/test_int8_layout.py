"""INT8 Q/DQ layouts per target runtime: onnxruntime's optimized graph of the default (onnxruntime) layout
fuses every quantized conv into QLinearConv, the openvino and tensorrt layouts are NNCF's own (the first
leaves float convs on dequantized weights in onnxruntime, which is why the onnxruntime layout exists), the
layout is recorded, invalid layouts are refused, and the quantized model still follows the float one."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from edgeyolo.data.synth import generate
from edgeyolo.errors import EdgeYoloError
from edgeyolo.export import ExportRequest, export
from edgeyolo.export.calibration import find_calibration_images
from edgeyolo.export.graph_scopes import name_unnamed_nodes
from edgeyolo.export.int8_layout import (
    LAYOUTS,
    read_layout,
    silu_range,
    uint8_qparams,
    unsigned_activations,
)
from edgeyolo.export.int8_onnx import Int8Options, nncf_quantize, quantize_onnx
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.export.ort_graph import optimized_graph
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime.detector import Detector

IMGSZ = (64, 64)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8-layout")


@pytest.fixture(scope="module")
def fp32(work: Path) -> Path:
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5n-mobilenetv2", nc=5), seed=2).eval()
    model.names = ["circle", "square", "triangle", "star", "cross"]  # the synthetic data's
    path = work / "fp32.onnx"
    export_onnx(model, path, OnnxExportOptions(imgsz=IMGSZ, report_unfused=False))
    return path


@pytest.fixture(scope="module")
def data(work: Path) -> Path:
    return generate(work / "data", {"train": 20, "val": 4}, seed=7, imgsz=64, workers=1)


@pytest.fixture(scope="module")
def calib(data: Path):
    return find_calibration_images(data, 20, lambda _: None)


@pytest.fixture(scope="module")
def layouts(fp32: Path, calib, work: Path) -> dict[str, tuple[Path, object]]:
    """One file per layout ("default" = no layout asked for), with a shared calibration cache."""
    out = {}
    for layout in ("default", *LAYOUTS):
        path = work / f"{layout}.onnx"
        options = Int8Options(layout=None if layout == "default" else layout, cache_dir=work / "cache")
        out[layout] = (path, quantize_onnx(fp32, path, calib, options))
    return out


def _quantized_convs(path: Path) -> int:
    """Convs in the file itself whose weight comes out of a DequantizeLinear."""
    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    return sum(
        n.op_type == "Conv" and n.input[1] in producer and producer[n.input[1]].op_type == "DequantizeLinear"
        for n in graph.node
    )


def test_onnxruntime_fuses_every_quantized_conv_of_the_default_layout(layouts) -> None:
    path, report = layouts["default"]
    assert report.layout == "onnxruntime" and read_layout(path) == "onnxruntime"
    ran = optimized_graph(path)
    assert ran.float_convs_on_dequantized_weights == []
    quantized = _quantized_convs(path)
    assert quantized > 30
    assert ran.ops["QLinearConv"] == quantized  # every quantized conv, not some of them
    assert ran.ops["Conv"] + ran.ops["FusedConv"] == 3  # only the head's float convs
    assert ran.ops["QLinearSigmoid"] > 0 and ran.ops["QLinearMul"] == ran.ops["QLinearSigmoid"]
    assert report.onnxruntime_graph == {
        "QLinearConv": quantized,
        "float_convs_on_dequantized_weights": 0,
        "DequantizeLinear": ran.ops["DequantizeLinear"],
    }
    assert "onnxruntime layout" in report.format() and f"fuses {quantized} convs" in report.format()


def test_the_openvino_layout_is_nncfs_own_which_onnxruntime_cannot_fuse(layouts) -> None:
    path, report = layouts["openvino"]
    assert report.layout == "openvino" and read_layout(path) == "openvino"
    assert report.onnxruntime_graph is None
    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    sigmoid_inputs = [producer[n.input[0]].op_type for n in graph.node if n.op_type == "Sigmoid"]
    assert sigmoid_inputs and set(sigmoid_inputs) == {"Conv"}  # Q/DQ after the SiLU, not before it
    assert len(optimized_graph(path).float_convs_on_dequantized_weights) > 10


def test_the_tensorrt_layout_is_symmetric_signed_int8(layouts) -> None:
    path, report = layouts["tensorrt"]
    assert report.layout == "tensorrt" and read_layout(path) == "tensorrt"
    graph = onnx.load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    zero_points = [init[n.input[2]] for n in graph.node if n.op_type == "QuantizeLinear"]
    assert len(zero_points) > 10
    assert {z.dtype for z in zero_points} == {np.dtype(np.int8)} and not any(z.any() for z in zero_points)


def test_the_onnxruntime_layout_follows_the_float_model(layouts, fp32: Path, calib) -> None:
    frame = cv2.imread(str(calib.images[0]))
    with (
        Detector(fp32) as ref,
        Detector(layouts["default"][0]) as det,
        Detector(layouts["openvino"][0]) as ov,
    ):
        assert det.contract.precision == "int8"
        x, _ = det.preprocess(frame)
        want, got, nncf = ref.backend.infer(x), det.backend.infer(x), ov.backend.infer(x)
        for g, n, w in zip(got, nncf, want, strict=True):
            assert g.shape == w.shape and np.isfinite(g).all()
            assert np.corrcoef(g.ravel(), w.ravel())[0, 1] > 0.9
            # the extra Q/DQ pairs cost little next to NNCF's own layout
            assert np.abs(g - w).mean() < 2 * np.abs(n - w).mean() + 1e-3


def test_int8_to_uint8_is_the_same_grid(fp32: Path, calib) -> None:
    """Rewriting asymmetric int8 activations as uint8 (zero point + 128) changes no output value."""
    proto = onnx.load(str(fp32))
    name_unnamed_nodes(proto.graph)
    with Detector(fp32) as ref:
        feeds = [{proto.graph.input[0].name: ref.preprocess(cv2.imread(str(p)))[0]} for p in calib.images[:8]]
    quantized = nncf_quantize(proto, feeds, [], per_tensor_activations=True)
    before = quantized.SerializeToString()
    assert unsigned_activations(quantized) > 0
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    runs = [
        ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]).run(None, feeds[0])
        for model in (before, quantized.SerializeToString())
    ]
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_silu_range_beats_min_max_on_a_long_negative_tail() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(1, 1.5, 20000), rng.uniform(-12, -4, 500)]).astype(np.float32)

    def silu_error(lo: float, hi: float) -> float:
        scale, zp = uint8_qparams(lo, hi)
        q = (np.clip(np.round(values / scale) + zp, 0, 255) - zp) * scale
        return float(np.mean((q / (1 + np.exp(-q)) - values / (1 + np.exp(-values))) ** 2))

    lo, hi = silu_range(values)
    assert values.min() < lo < 0 < hi <= values.max()
    assert silu_error(lo, hi) < 0.7 * silu_error(float(values.min()), float(values.max()))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Int8Options(layout="tflite"), "INT8 layout must be one of onnxruntime, openvino, tensorrt"),
        (Int8Options(layout="onnxruntime", symmetric=True), "symmetric INT8 is the tensorrt layout"),
        (Int8Options(quantizer="ort", layout="openvino"), "quantizer ort has its own"),
    ],
)
def test_an_invalid_layout_is_refused(fp32: Path, calib, tmp_path: Path, options, message: str) -> None:
    options.cache_dir = tmp_path / "cache"
    with pytest.raises(EdgeYoloError, match=message):
        quantize_onnx(fp32, tmp_path / "out.onnx", calib, options)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"int8_target": "tflite"}, "--int8-target must be one of onnxruntime, openvino, tensorrt"),
        ({"int8_target": "openvino", "quantizer": "ort"}, "--quantizer ort has its own layout"),
        ({"int8_target": "openvino", "format": "openvino"}, "--int8-target is for --format onnx"),
    ],
)
def test_the_export_request_refuses_an_unusable_target(
    fp32: Path, data: Path, request_, message: str
) -> None:
    request = ExportRequest(int8=True, data=data).replace(**request_)
    with pytest.raises(EdgeYoloError, match=message):
        export(fp32, request)


def test_int8_target_without_int8_is_refused() -> None:
    with pytest.raises(EdgeYoloError, match="--int8-target needs --int8"):
        ExportRequest(int8_target="openvino").check()


@pytest.mark.parametrize("target", [None, "openvino"])
def test_export_writes_the_asked_layout_and_verifies_it(
    fp32: Path, data: Path, tmp_path: Path, target: str | None
) -> None:
    out = tmp_path / "model-int8.onnx"
    warnings: list[str] = []
    request = ExportRequest(int8=True, data=data, int8_target=target, cache_dir=tmp_path, output=out)
    result = export(fp32, request, warn=warnings.append)
    assert warnings == [
        "calibrating on only 20 images; 100+ representative images give more reliable INT8 ranges"
    ]
    layout = target or "onnxruntime"
    assert result.record["layout"] == layout and read_layout(out) == layout
    assert (result.record["onnxruntime_graph"] is None) == (layout != "onnxruntime")
    assert result.record["verification"] is not None and "mAP50-95" in result.record["verification"]["detail"]


def test_the_runtime_advice_reads_the_recorded_layout(layouts) -> None:
    """The steer for slow onnxruntime INT8 (runtime/int8_advice.py) on real files, read by onnxruntime."""
    from edgeyolo.runtime.int8_advice import onnxruntime_int8_advice

    def advice(layout: str) -> str | None:
        session = ort.InferenceSession(str(layouts[layout][0]), providers=["CPUExecutionProvider"])
        return onnxruntime_int8_advice(session.get_modelmeta().custom_metadata_map, "int8", "cpu")

    assert advice("default") is None
    assert "written for openvino" in advice("openvino")
    assert "written for tensorrt" in advice("tensorrt")


def test_other_activations_are_fused_too(calib, tmp_path: Path) -> None:
    """MobileNetV3's HardSwish (HardSigmoid·Mul) sits between conv and Q like SiLU does."""
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov4-lite-mobilenetv3", nc=5), seed=2).eval()
    model.names = ["circle", "square", "triangle", "star", "cross"]
    fp32 = tmp_path / "v3.onnx"
    export_onnx(model, fp32, OnnxExportOptions(imgsz=IMGSZ, report_unfused=False))
    graph = onnx.load(str(fp32)).graph
    assert {"HardSigmoid", "Mul"} <= {n.op_type for n in graph.node}
    out = tmp_path / "v3-int8.onnx"
    quantize_onnx(fp32, out, calib, Int8Options(cache_dir=tmp_path / "cache"))
    ran = optimized_graph(out)
    assert ran.float_convs_on_dequantized_weights == []
    assert ran.ops["QLinearConv"] == _quantized_convs(out) > 30


def test_loading_a_slow_layout_on_onnxruntime_warns_and_the_fast_one_does_not(layouts) -> None:
    """Detector steers: NNCF's layout on onnxruntime CPU names OpenVINO; the default layout is quiet."""
    import warnings

    from edgeyolo.runtime import Detector

    with pytest.warns(UserWarning, match="backend='openvino'"):
        Detector(layouts["openvino"][0]).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Detector(layouts["default"][0]).close()
        Detector(layouts["openvino"][0], backend="openvino").close()
