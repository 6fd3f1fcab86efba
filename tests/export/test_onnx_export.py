"""ONNX export of every shipped config: lean graphs, complete metadata, agreement with PyTorch."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from edgeyolo.config import available_configs
from edgeyolo.export import verify
from edgeyolo.export.metadata import read_metadata
from edgeyolo.export.onnx import ExportError, OnnxExportOptions, VerificationError, export_onnx
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.layers.activations import hswish
from edgeyolo.models.yolo import create_model

CONFIGS = available_configs()
MODES = ["raw", "decoded", "nms"]
IMGSZ = (64, 96)


@functools.cache
def model_for(name: str):
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model(name, nc=3), seed=2).eval()
    with torch.no_grad():  # enough objectness that the nms mode has detections to compare
        for conv in model.head.m:
            conv.bias.view(model.head.na, -1)[:, 4] += 6.0
    model.names = ["a", "b", "c"]
    return model


def ops_of(path: Path) -> list[str]:
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def has_hswish_chain(path: Path) -> bool:
    """True when h-swish was decomposed into Add → Clip → Div (or Mul) instead of one HardSwish."""
    graph = onnx.load(str(path)).graph
    producer = {out: n for n in graph.node for out in n.output}
    for node in graph.node:
        if node.op_type in ("Div", "Mul"):
            for name in node.input:
                src = producer.get(name)
                before = producer.get(src.input[0]) if src is not None and src.op_type == "Clip" else None
                if before is not None and before.op_type == "Add":
                    return True
    return False


def _options(mode: str, uint8: bool, dynamic: bool, **more) -> OnnxExportOptions:
    """The options every layout test shares: low conf and max_det so NMS graphs keep a few boxes."""
    return OnnxExportOptions(
        imgsz=IMGSZ,
        outputs=mode,
        uint8_input=uint8,
        dynamic_batch=dynamic,
        conf=0.05,
        max_det=100,
        report_unfused=False,
        **more,
    )


def combo(i: int) -> tuple[bool, bool]:
    """(dynamic, uint8) rotated across configs so each mode meets every combination."""
    return bool(i & 1), bool(i & 2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CONFIGS)
def test_export_every_config(name: str, mode: str, tmp_path: Path) -> None:
    dynamic, uint8 = combo(CONFIGS.index(name) + MODES.index(mode))
    model = model_for(name)
    path = tmp_path / f"{name}.onnx"
    report, contract = export_onnx(model, path, _options(mode, uint8, dynamic))
    assert report.verified, report.verify_detail
    ops = ops_of(path)
    assert "BatchNormalization" not in ops
    uses_hswish = any(isinstance(m, hswish) for m in model.modules())
    assert ("HardSwish" in ops) == uses_hswish
    assert not has_hswish_chain(path)
    meta = read_metadata(onnx.load(str(path)))
    assert meta == contract
    assert meta.names == ("a", "b", "c") and meta.strides == (8, 16, 32) and meta.imgsz == IMGSZ
    assert meta.anchors == tuple(tuple(a) for a in model.anchors_pixels)
    assert meta.outputs == mode and meta.input == ("uint8-nhwc-bgr" if uint8 else "float32-nchw-rgb")
    assert meta.dynamic_batch == dynamic and meta.tool_version
    if dynamic:
        for batch in (1, 3):
            x = verify.fixed_input(meta, batch, seed=batch)
            got = verify.run_onnx(path, x)
            if mode == "nms":
                assert got[0].shape == (batch, 100, 6) and got[1].shape == (batch,)
            else:
                ref = verify.torch_reference(model, meta, x)
                for g, r in zip(got, ref, strict=True):
                    assert g.shape == r.shape
                    assert np.abs(g - r).max() <= 1e-4 * max(1.0, np.abs(r).max())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("uint8", [False, True])
@pytest.mark.parametrize("dynamic", [False, True])
def test_full_matrix_on_a_small_model(mode: str, uint8: bool, dynamic: bool, tmp_path: Path) -> None:
    model = model_for("yolov5-mobilenetv2")
    options = _options(mode, uint8, dynamic, batch=2, dynamic_shape=dynamic)
    report, meta = export_onnx(model, tmp_path / "m.onnx", options)
    assert report.verified, report.verify_detail
    if mode == "nms":
        assert "detections match the runtime's NMS" in report.verify_detail
        assert not report.verify_detail.startswith("NMS inputs match torch (boxes nan")
    if dynamic and mode != "nms":  # another spatial size through the same file
        x = verify.fixed_input(meta.__class__(**{**meta.__dict__, "imgsz": (96, 128)}), 1)
        got = verify.run_onnx(tmp_path / "m.onnx", x)
        ref = verify.torch_reference(model, meta, x)
        assert all(g.shape == r.shape for g, r in zip(got, ref, strict=True))


def test_uint8_input_folds_into_the_first_conv(tmp_path: Path) -> None:
    model = model_for("yolov5-mobilenetv2")
    export_onnx(
        model, tmp_path / "u8.onnx", OnnxExportOptions(imgsz=IMGSZ, uint8_input=True, report_unfused=False)
    )
    graph = onnx.load(str(tmp_path / "u8.onnx")).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    consumers = {i: n for n in graph.node for i in n.input}
    path, name = [], "images"
    while len(path) < 3:  # follow the data from the input: only layout and dtype before the first conv
        node = consumers[name]
        path.append(node.op_type)
        name = node.output[0]
    assert sorted(path[:2]) == ["Cast", "Transpose"] and path[2] == "Conv"


def test_fusion_and_simplification_shrink_the_graph(tmp_path: Path) -> None:
    report, _ = export_onnx(
        model_for("yolov4-lite-mobilenetv3"), tmp_path / "m.onnx", OnnxExportOptions(imgsz=IMGSZ)
    )
    unfused, simplified = report.stages["unfused"], report.stages["simplified"]
    assert unfused.ops.get("BatchNormalization", 0) > 0
    assert simplified.nodes <= 0.7 * unfused.nodes
    text = report.format()
    assert "unfused" in text and "simplified" in text and "verification PASSED" in text


def test_half_export_verifies_at_fp16_tolerance(tmp_path: Path) -> None:
    report, meta = export_onnx(
        model_for("yolov5-mobilenetv2"),
        tmp_path / "h.onnx",
        OnnxExportOptions(imgsz=IMGSZ, half=True, outputs="decoded", report_unfused=False),
    )
    assert meta.precision == "fp16" and report.verified
    graph = onnx.load(str(tmp_path / "h.onnx")).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16


def test_failed_verification_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(verify.EXPORT_VS_TORCH, "fp32", 0.0)  # demand bit-exactness, which fusion cannot give
    path = tmp_path / "m.onnx"
    with pytest.raises(VerificationError, match="does not match PyTorch"):
        export_onnx(
            model_for("yolov5-mobilenetv2"), path, OnnxExportOptions(imgsz=IMGSZ, report_unfused=False)
        )
    assert list(tmp_path.iterdir()) == []


def test_verification_catches_a_different_model(tmp_path: Path) -> None:
    model = model_for("yolov5-mobilenetv2")
    _, meta = export_onnx(model, tmp_path / "m.onnx", OnnxExportOptions(imgsz=IMGSZ, report_unfused=False))
    other = randomize_batchnorm(create_model("yolov5-mobilenetv2", nc=3), seed=9).eval()
    assert not verify.verify_onnx(tmp_path / "m.onnx", other, meta, batch=1).ok


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (OnnxExportOptions(imgsz=(64, 64), opset=13), "opset 13 is too old"),
        (OnnxExportOptions(imgsz=(100, 64)), "multiples of the model's largest stride 32"),
        (OnnxExportOptions(imgsz=(0, 64)), "positive multiples"),
        (OnnxExportOptions(imgsz=(64, 64), batch=0), "--batch must be >= 1"),
        (OnnxExportOptions(imgsz=(64, 64), outputs="boxes"), "--outputs must be one of"),
    ],
)
def test_impossible_options_are_refused(options: OnnxExportOptions, message: str, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=message):
        export_onnx(model_for("yolov5-mobilenetv2"), tmp_path / "m.onnx", options)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("opset", "single"), [(17, False), (18, True)])
def test_mish_is_one_node_from_opset_18(opset: int, single: bool, tmp_path: Path) -> None:
    report, _ = export_onnx(
        model_for("yolov4-mobilenetv3-small"),
        tmp_path / "m.onnx",
        OnnxExportOptions(imgsz=IMGSZ, opset=opset, report_unfused=False),
    )
    assert report.verified
    ops = ops_of(tmp_path / "m.onnx")
    assert ("Mish" in ops) == single
    assert ("Softplus" in ops) == (not single)
