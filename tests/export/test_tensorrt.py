"""TensorRT export: request validation, the EfficientNMS_TRT graph, verification helpers, and (where
TensorRT and a GPU exist) real engine builds. Everything but the `tensorrt`-marked tests runs anywhere."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from edgeyolo.export.metadata import read_metadata
from edgeyolo.export.onnx import ExportError, OnnxExportOptions, export_onnx
from edgeyolo.export.tensorrt import (
    PLUGIN_DOMAIN,
    TensorRTOptions,
    add_efficient_nms,
    build_engine,
    check_tensorrt_request,
    default_timing_cache,
    profile_shapes,
    qdq_node_count,
)
from edgeyolo.export.verify import (
    ENGINE_VS_ONNX,
    compare_outputs,
    fixed_input,
    match_fraction,
    reference_nms,
    run_onnx,
)
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime.backends.tensorrt_sidecar import TensorRTEnv, read_sidecar, sidecar_path

HAVE_TRT = importlib.util.find_spec("tensorrt") is not None and importlib.util.find_spec("cuda") is not None
needs_tensorrt = pytest.mark.skipif(
    not HAVE_TRT, reason="needs TensorRT and cuda-python on an NVIDIA GPU (pip install 'edgeyolo[tensorrt]')"
)
IMGSZ = (64, 64)
MAX_DET = 50


def _model():
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5n-mobilenetv2", nc=3), seed=2).eval()
    with torch.no_grad():  # enough objectness that NMS has work to do
        for conv in model.head.m:
            conv.bias.view(model.head.na, -1)[:, 4] += 6.0
    model.names = ["a", "b", "c"]
    return model


@pytest.fixture(scope="module")
def decoded(tmp_path_factory) -> dict:
    """Two `decoded` exports: dynamic batch at opset 17, static batch at opset 18 (ReduceMax axes input)."""
    model, root = _model(), tmp_path_factory.mktemp("trt")
    out = {}
    for key, dynamic, opset in (("dynamic", True, 17), ("static", False, 18)):
        path = root / f"{key}.onnx"
        _, contract = export_onnx(
            model,
            path,
            OnnxExportOptions(
                imgsz=IMGSZ, outputs="decoded", dynamic_batch=dynamic, opset=opset, report_unfused=False
            ),
        )
        out[key] = (path, contract)
    return out


def _nms_model(decoded: dict, key: str = "dynamic", conf: float = 0.3, iou: float = 0.5) -> onnx.ModelProto:
    path, contract = decoded[key]
    return add_efficient_nms(onnx.load(str(path)), contract, MAX_DET, conf, iou)


# -- validation -----------------------------------------------------------------------------------
@pytest.fixture
def contract(decoded):
    return decoded["dynamic"][1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (TensorRTOptions(precision="bf16"), "precision must be one of"),
        (TensorRTOptions(workspace_gb=0), "--workspace"),
        (TensorRTOptions(workspace_gb=-2), "--workspace"),
        (TensorRTOptions(workspace_gb=math.nan), "--workspace"),
        (TensorRTOptions(dla_core=0), "DLA runs FP16 or INT8 only"),
        (TensorRTOptions(precision="fp16", dla_core=-1), "DLA core number"),
        (TensorRTOptions(precision="fp16", dla_core=True), "DLA core number"),
        (TensorRTOptions(batch=4, min_batch=5), "1 <= min <= opt <= max"),
        (TensorRTOptions(batch=4, max_batch=2), "1 <= min <= opt <= max"),
        (TensorRTOptions(batch=0), "1 <= min <= opt <= max"),
        (TensorRTOptions(min_imgsz=(32, 32)), "--dynamic shape"),
        (TensorRTOptions(nms=True, conf=0.0), "0 < --conf < 1"),
        (TensorRTOptions(nms=True, iou=0.0), "0 < --iou <= 1"),
        (TensorRTOptions(nms=True, max_det=0), "--max-det >= 1"),
    ],
)
def test_bad_requests_are_refused(options: TensorRTOptions, message: str, contract) -> None:
    with pytest.raises(ExportError, match=re.escape(message)):
        check_tensorrt_request(options, contract)


def test_good_requests_pass(contract) -> None:
    check_tensorrt_request(TensorRTOptions(), contract)
    check_tensorrt_request(TensorRTOptions(precision="fp16", dla_core=1, batch=2, max_batch=4), contract)
    check_tensorrt_request(TensorRTOptions(nms=True, conf=0.25, iou=0.45, max_det=100), contract)


def test_static_batch_onnx_refuses_a_batch_range(decoded) -> None:
    static = decoded["static"][1]
    with pytest.raises(ExportError, match="--dynamic batch"):
        check_tensorrt_request(TensorRTOptions(max_batch=8), static)
    check_tensorrt_request(TensorRTOptions(), static)


def test_dynamic_shape_profile_checks(contract) -> None:
    shaped = dataclasses.replace(contract, dynamic_shape=True)
    check_tensorrt_request(TensorRTOptions(min_imgsz=(32, 32), max_imgsz=(128, 96)), shaped)
    with pytest.raises(ExportError, match="multiples of stride 32"):
        check_tensorrt_request(TensorRTOptions(max_imgsz=(100, 100)), shaped)
    with pytest.raises(ExportError, match="min <= opt <= max"):
        check_tensorrt_request(TensorRTOptions(min_imgsz=(96, 96)), shaped)  # min above the opt 64


def test_nms_needs_a_decoded_onnx(contract) -> None:
    for outputs in ("raw", "nms"):
        with pytest.raises(ExportError, match="--outputs decoded"):
            check_tensorrt_request(TensorRTOptions(nms=True), dataclasses.replace(contract, outputs=outputs))


def _qdq_proto() -> onnx.ModelProto:
    """A minimal explicitly quantized graph: x → QuantizeLinear → DequantizeLinear → y."""
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "scale")
    zero = numpy_helper.from_array(np.array(0, np.int8), "zero")
    graph = helper.make_graph(
        [
            helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["q"]),
            helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["y"]),
        ],
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [scale, zero],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_int8_needs_a_qdq_onnx(decoded, contract, tmp_path: Path) -> None:
    float_onnx = decoded["dynamic"][0]
    assert qdq_node_count(float_onnx) == 0
    with pytest.raises(ExportError, match=r"explicit quantization.*no Q/DQ nodes"):
        check_tensorrt_request(TensorRTOptions(precision="int8"), contract, float_onnx)
    qdq = tmp_path / "qdq.onnx"
    onnx.save(_qdq_proto(), str(qdq))
    assert qdq_node_count(qdq) == 2
    check_tensorrt_request(TensorRTOptions(precision="int8"), contract, qdq)
    check_tensorrt_request(TensorRTOptions(precision="int8", dla_core=0), contract, _qdq_proto())
    with pytest.raises(ExportError, match=r"quantized.*--int8"):
        check_tensorrt_request(TensorRTOptions(precision="fp16"), contract, qdq)


def test_profile_shapes(decoded, contract) -> None:
    assert profile_shapes(TensorRTOptions(), decoded["static"][1]) is None
    assert profile_shapes(TensorRTOptions(batch=2), contract) == (
        (1, 3, 64, 64),
        (2, 3, 64, 64),
        (8, 3, 64, 64),
    )
    assert profile_shapes(TensorRTOptions(batch=2, min_batch=2, max_batch=16), contract)[2] == (16, 3, 64, 64)
    nhwc = dataclasses.replace(contract, dynamic_batch=False, dynamic_shape=True, input="uint8-nhwc-bgr")
    shapes = profile_shapes(TensorRTOptions(max_imgsz=(128, 96)), nhwc)
    assert shapes == ((1, 32, 32, 3), (1, 64, 64, 3), (1, 128, 96, 3))


def test_default_timing_cache_is_per_gpu_and_version(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    orin = default_timing_cache(TensorRTEnv("10.3.0", "Orin (nvgpu)", "8.7"))
    t4 = default_timing_cache(TensorRTEnv("10.3.0", "Tesla T4", "7.5"))
    assert orin.parent == tmp_path / "edgeyolo" / "tensorrt" and orin != t4
    assert "10.3.0" in orin.name and "8.7" in orin.name and " " not in orin.name


# -- EfficientNMS_TRT graph -----------------------------------------------------------------------
def test_efficient_nms_node_and_graph(decoded) -> None:
    path, contract = decoded["dynamic"]
    original = onnx.load(str(path))
    before = original.SerializeToString()
    model = add_efficient_nms(original, contract, MAX_DET, 0.3, 0.5)
    assert original.SerializeToString() == before, "the input model must not be modified"
    onnx.checker.check_model(model)

    plugins = [n for n in model.graph.node if n.op_type == "EfficientNMS_TRT"]
    assert len(plugins) == 1
    node = plugins[0]
    assert node.domain == PLUGIN_DOMAIN
    assert any(o.domain == PLUGIN_DOMAIN and o.version == 1 for o in model.opset_import)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs == {
        "background_class": -1,
        "box_coding": 1,
        "iou_threshold": pytest.approx(0.5),
        "max_output_boxes": MAX_DET,
        "score_threshold": pytest.approx(0.3),
        "score_activation": 0,
        "class_agnostic": 0,
        "plugin_version": b"1",
    }
    assert len(node.input) == 2 and len(node.output) == 4

    outputs = {o.name: o.type.tensor_type for o in model.graph.output}
    assert list(outputs) == ["detections", "num_dets"]
    dims = [d.dim_param or d.dim_value for d in outputs["detections"].shape.dim]
    assert dims == ["batch", MAX_DET, 6] and outputs["detections"].elem_type == TensorProto.FLOAT
    assert [d.dim_param for d in outputs["num_dets"].shape.dim] == ["batch"]
    assert outputs["num_dets"].elem_type == TensorProto.INT64

    record = read_metadata(model)
    assert (record.outputs, record.max_det, record.nms_conf, record.nms_iou) == ("nms", MAX_DET, 0.3, 0.5)
    assert dataclasses.replace(
        record, outputs="decoded", max_det=contract.max_det, nms_conf=None, nms_iou=None
    ) == dataclasses.replace(contract, nms_conf=None, nms_iou=None)


def test_efficient_nms_static_batch_and_opset18(decoded) -> None:
    model = _nms_model(decoded, "static")
    onnx.checker.check_model(model)
    dims = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, MAX_DET, 6]
    reduce = next(n for n in model.graph.node if n.op_type == "ReduceMax")
    assert len(reduce.input) == 2  # opset 18: axes is an input


def test_efficient_nms_refuses_other_layouts(decoded) -> None:
    path, contract = decoded["dynamic"]
    with pytest.raises(ExportError, match="--outputs decoded"):
        add_efficient_nms(onnx.load(str(path)), dataclasses.replace(contract, outputs="raw"), 10, 0.3, 0.5)


def _split_at_plugin(model: onnx.ModelProto) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """The graph before the plugin (outputs: its inputs) and after it (inputs: its outputs)."""
    nodes = list(model.graph.node)
    at = next(i for i, n in enumerate(nodes) if n.op_type == "EfficientNMS_TRT")
    plugin = nodes[at]
    opsets = [o for o in model.opset_import if o.domain != PLUGIN_DOMAIN]
    before = helper.make_graph(
        nodes[:at],
        "pre_nms",
        list(model.graph.input),
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in plugin.input],
        list(model.graph.initializer),
    )
    infos = {v.name: v for v in model.graph.value_info}
    after = helper.make_graph(
        nodes[at + 1 :],
        "post_nms",
        [infos[name] for name in plugin.output],
        list(model.graph.output),
        [t for t in model.graph.initializer if t.name.startswith("trt_nms/")],
    )
    return (
        helper.make_model(before, opset_imports=opsets, ir_version=model.ir_version),
        helper.make_model(after, opset_imports=opsets, ir_version=model.ir_version),
    )


def test_pre_nms_part_matches_the_decoded_outputs(decoded) -> None:
    path, contract = decoded["dynamic"]
    pre, _ = _split_at_plugin(_nms_model(decoded))
    x = fixed_input(contract, batch=2)
    (pred,) = run_onnx(path, x)
    boxes, scores = run_onnx(pre.SerializeToString(), x)
    assert boxes.shape == (*pred.shape[:2], 4) and scores.shape == (*pred.shape[:2], contract.nc)
    np.testing.assert_array_equal(boxes, pred[..., :4])  # center-size, as box_coding=1 declares
    products = pred[..., 5:] * pred[..., 4:5]
    best = products.argmax(-1)
    expected = np.zeros_like(products)
    np.put_along_axis(expected, best[..., None], np.take_along_axis(products, best[..., None], -1), -1)
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-7)
    assert ((scores > 0).sum(-1) <= 1).all()  # each box competes with its best class only


def test_post_nms_part_gives_the_nms_layout(decoded) -> None:
    _, post = _split_at_plugin(_nms_model(decoded))
    rng = np.random.default_rng(0)
    num = np.array([[3], [0]], np.int32)
    boxes = rng.uniform(0, 64, (2, MAX_DET, 4)).astype(np.float32)  # junk past num must be zeroed
    scores = rng.uniform(0.3, 1, (2, MAX_DET)).astype(np.float32)
    classes = rng.integers(0, 3, (2, MAX_DET)).astype(np.int32)
    session_inputs = {
        "trt_nms/num_detections": num,
        "trt_nms/detection_boxes": boxes,
        "trt_nms/detection_scores": scores,
        "trt_nms/detection_classes": classes,
    }
    import onnxruntime as ort

    session = ort.InferenceSession(post.SerializeToString(), providers=["CPUExecutionProvider"])
    dets, num_dets = session.run(None, session_inputs)
    assert dets.shape == (2, MAX_DET, 6) and dets.dtype == np.float32
    assert num_dets.tolist() == [3, 0] and num_dets.dtype == np.int64
    np.testing.assert_array_equal(dets[0, :3, :4], boxes[0, :3])
    np.testing.assert_array_equal(dets[0, :3, 4], scores[0, :3])
    np.testing.assert_array_equal(dets[0, :3, 5], classes[0, :3].astype(np.float32))
    assert not dets[0, 3:].any() and not dets[1].any()


# -- verification helpers -------------------------------------------------------------------------
def test_compare_outputs_tolerances() -> None:
    ref = [np.linspace(-10, 10, 60, dtype=np.float32).reshape(1, 3, 20)]
    assert compare_outputs([ref[0] + 5e-3], ref, ENGINE_VS_ONNX["fp32"]).ok
    assert not compare_outputs([ref[0] + 2e-2], ref, ENGINE_VS_ONNX["fp32"]).ok
    assert compare_outputs([ref[0] + 5e-2], ref, ENGINE_VS_ONNX["fp16"]).ok  # 0.05 of scale 10
    assert not compare_outputs([ref[0] + 0.2], ref, ENGINE_VS_ONNX["fp16"]).ok
    assert compare_outputs([ref[0] + 0.5], ref, None).ok  # judged by mAP instead
    bad = ref[0].copy()
    bad[0, 0, 0] = np.nan
    assert "non-finite" in compare_outputs([bad], ref, None).detail
    assert "shapes differ" in compare_outputs([ref[0][:, :2]], ref, ENGINE_VS_ONNX["fp32"]).detail


def test_match_fraction() -> None:
    ref = np.array([[0, 0, 10, 10, 0.9, 0], [20, 20, 40, 40, 0.8, 1]], np.float32)
    assert match_fraction(ref.copy(), ref, 1e-3) == 1.0
    assert match_fraction(ref[::-1].copy(), ref, 1e-3) == 1.0  # order does not matter
    moved = ref.copy()
    moved[1, :4] += 5
    assert match_fraction(moved, ref, 1e-3) == 0.5
    relabelled = ref.copy()
    relabelled[:, 5] = 2
    assert match_fraction(relabelled, ref, 1e-3) == 0.0
    assert match_fraction(np.concatenate([ref, ref]), ref, 1e-3) == 0.5  # extra detections count
    assert match_fraction(ref[:0], ref[:0], 1e-3) == 1.0


def test_reference_nms_keeps_the_best_of_overlapping_boxes() -> None:
    pred = np.zeros((1, 3, 7), np.float32)  # x, y, w, h, obj, p(class 0), p(class 1)
    pred[0, 0] = [20, 20, 10, 10, 0.9, 0.9, 0.1]
    pred[0, 1] = [21, 20, 10, 10, 0.8, 0.9, 0.1]  # same class, IoU > 0.5 with box 0: suppressed
    pred[0, 2] = [50, 50, 10, 10, 0.9, 0.2, 0.8]
    (out,) = reference_nms(pred, conf=0.25, iou=0.5, max_det=10)
    np.testing.assert_allclose(out[:, :4], [[15, 15, 25, 25], [45, 45, 55, 55]])
    np.testing.assert_allclose(out[:, 4], [0.81, 0.72], rtol=1e-6)
    assert out[:, 5].tolist() == [0, 1]


# -- build_engine without TensorRT ----------------------------------------------------------------
@pytest.mark.skipif(HAVE_TRT, reason="checks the message given where TensorRT is missing")
def test_build_without_tensorrt_names_the_extra_and_writes_nothing(decoded, tmp_path: Path) -> None:
    path, contract = decoded["dynamic"]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match=r"pip install 'edgeyolo\[tensorrt\]'"):
        build_engine(path, out / "m.engine", TensorRTOptions(precision="fp16"), contract)
    assert list(out.iterdir()) == []


def test_invalid_request_fails_before_anything_is_written(decoded, tmp_path: Path) -> None:
    path, contract = decoded["dynamic"]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match="DLA runs FP16 or INT8"):
        build_engine(path, out / "m.engine", TensorRTOptions(dla_core=0), contract)
    assert list(out.iterdir()) == []


# -- with TensorRT --------------------------------------------------------------------------------
@pytest.mark.tensorrt
@pytest.mark.gpu
@needs_tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_build_verify_and_run_engine(decoded, precision: str, tmp_path: Path) -> None:
    from edgeyolo.runtime.backends import load_backend

    path, contract = decoded["dynamic"]
    engine = tmp_path / f"m-{precision}.engine"
    options = TensorRTOptions(precision=precision, batch=2, max_batch=4, timing_cache=tmp_path / "t.cache")
    report = build_engine(path, engine, options, contract)
    assert report["verified"], report["verify_detail"]
    assert engine.is_file() and (tmp_path / "t.cache").is_file()
    record = read_sidecar(engine)
    assert record.precision == precision and record.contract.precision == precision
    assert record.profile["images"] == [[1, 3, 64, 64], [2, 3, 64, 64], [4, 3, 64, 64]]
    with load_backend(engine, device="cuda") as backend:
        x = fixed_input(contract, batch=3)
        got = backend.infer(x)
        ref = run_onnx(path, x)
        assert compare_outputs(got, ref, ENGINE_VS_ONNX.get(precision)).ok


@pytest.mark.tensorrt
@pytest.mark.gpu
@needs_tensorrt
def test_build_nms_engine_runs_in_the_detector(decoded, tmp_path: Path) -> None:
    from edgeyolo.runtime.detector import Detector

    path, contract = decoded["dynamic"]
    engine = tmp_path / "nms.engine"
    report = build_engine(path, engine, TensorRTOptions(nms=True, conf=0.3, max_det=MAX_DET), contract)
    assert report["verified"], report["verify_detail"]
    assert read_sidecar(engine).contract.outputs == "nms"
    frame = np.full((48, 80, 3), 114, np.uint8)
    with Detector(engine, device="cuda", conf=0.3) as detector:
        result = detector.detect(frame)
    assert len(result.xyxy) <= MAX_DET


@pytest.mark.tensorrt
@pytest.mark.gpu
@needs_tensorrt
def test_replaced_engine_is_refused(decoded, tmp_path: Path) -> None:
    from edgeyolo.runtime.backends import BackendError, load_backend

    path, contract = decoded["static"]
    engine = tmp_path / "m.engine"
    build_engine(path, engine, TensorRTOptions(verify=False), contract)
    engine.write_bytes(engine.read_bytes() + b"\0")
    assert sidecar_path(engine).is_file()
    with pytest.raises(BackendError, match="describes another engine"):
        load_backend(engine, device="cuda")


def test_verification_batch_follows_a_static_onnx(decoded) -> None:
    from edgeyolo.export.tensorrt import _verify_batch

    static, dynamic = (onnx.load(str(decoded[k][0])) for k in ("static", "dynamic"))
    assert _verify_batch(static, TensorRTOptions(batch=4)) == 1
    assert _verify_batch(dynamic, TensorRTOptions(batch=4)) == 4


def test_match_fraction_uses_a_candidate_only_on_a_real_hit() -> None:
    ref = np.array([[0, 0, 10, 10, 0.9, 0], [1, 1, 11, 11, 0.8, 0]], np.float32)
    assert match_fraction(ref[1:].copy(), ref, 1e-3) == 0.5  # the first ref must not use up the one box
