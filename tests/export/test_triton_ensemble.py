"""The images-in, detections-out Triton ensemble: configs parse with Triton's protobuf and wire up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from edgeyolo.defaults import shipped_onnx
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.export.triton import TritonError
from edgeyolo.export.triton_ensemble import write_triton_ensemble
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime.contract import Contract

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2", reason="tritonclient[grpc] (serve/dev extra) is not installed"
)
text_format = pytest.importorskip("google.protobuf.text_format")
STEPS = ("edgeyolo_preprocess", "edgeyolo_preprocess_frames", "edgeyolo_model", "edgeyolo_postprocess")


def _config(path: Path):
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


@pytest.fixture(scope="module")
def dynamic_onnx(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = create_model("yolov5n-mobilenetv2", nc=2).eval()
    model.names = ["a", "b"]
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_onnx(model, path, OnnxExportOptions(imgsz=(64, 64), dynamic_batch=True, verify=False))
    return path


@pytest.mark.parametrize(
    ("ensemble", "client_input", "dims", "pre"),
    [
        ("edgeyolo", "IMAGE", [-1], "edgeyolo_preprocess"),
        ("edgeyolo_frames", "FRAME", [-1, -1, 3], "edgeyolo_preprocess_frames"),
    ],
)
def test_python_step_ensembles_wire_the_client_contract(
    tmp_path: Path, ensemble, client_input, dims, pre
) -> None:
    ens = write_triton_ensemble(shipped_onnx(), tmp_path, model_step="python", max_batch=4)
    assert ens == tmp_path / "edgeyolo"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["edgeyolo", "edgeyolo_frames", *STEPS])
    top = _config(tmp_path / ensemble / "config.pbtxt")
    assert top.name == ensemble and top.platform == "ensemble" and top.max_batch_size == 4
    assert [(t.name, t.data_type, list(t.dims)) for t in top.input] == [
        (client_input, model_config_pb2.TYPE_UINT8, dims)
    ]
    assert [(t.name, t.data_type, list(t.dims)) for t in top.output] == [
        ("DETECTIONS", model_config_pb2.TYPE_FP32, [-1, 6]),
        ("NUM_DETECTIONS", model_config_pb2.TYPE_INT32, [1]),
    ]
    contract = Contract.from_json(top.parameters["edgeyolo"].string_value)
    assert json.loads(top.parameters["names"].string_value) == list(contract.names)
    assert [s.model_name for s in top.ensemble_scheduling.step] == [
        pre,
        "edgeyolo_model",
        "edgeyolo_postprocess",
    ]

    configs = {name: _config(tmp_path / name / "config.pbtxt") for name in STEPS}
    for name, cfg in configs.items():
        assert cfg.backend == "python" and cfg.max_batch_size == 4 and cfg.HasField("dynamic_batching")
        assert (tmp_path / name / "1" / "model.py").is_file()
    # every tensor a step reads is one that an earlier step (or the client) wrote, with matching names
    produced = {client_input}
    for step in top.ensemble_scheduling.step:
        cfg = configs[step.model_name]
        assert set(step.input_map) == {t.name for t in cfg.input}
        assert set(step.output_map) == {t.name for t in cfg.output}
        assert set(step.input_map.values()) <= produced
        produced |= set(step.output_map.values())
    assert (tmp_path / "edgeyolo_model" / "1" / "model.onnx").read_bytes() == shipped_onnx().read_bytes()
    assert "import ModelStep as TritonPythonModel" in (tmp_path / "edgeyolo_model/1/model.py").read_text()
    code = (tmp_path / "edgeyolo_preprocess_frames/1/model.py").read_text()
    assert "import PreprocessFrames as TritonPythonModel" in code


def test_export_api_passes_the_serving_options(tmp_path: Path) -> None:
    from edgeyolo.export import ExportRequest, export

    request = ExportRequest(
        format="triton", ensemble="python", repo=tmp_path, name="det", dynamic_batching=False,
        max_queue_delay_us=500, max_image_pixels=1234, conf=0.3, iou=0.6, max_det=50,
        runtime_options={"spinning": False},
    )  # fmt: skip
    result = export(shipped_onnx(), request)
    assert result.path == tmp_path / "det"
    for name in ("det_preprocess", "det_preprocess_frames", "det_model", "det_postprocess"):
        assert not _config(tmp_path / name / "config.pbtxt").HasField("dynamic_batching"), name
    pre = _config(tmp_path / "det_preprocess_frames" / "config.pbtxt").parameters
    assert pre["max_image_pixels"].string_value == "1234"
    post = _config(tmp_path / "det_postprocess" / "config.pbtxt").parameters
    assert (post["conf"].string_value, post["iou"].string_value, post["max_det"].string_value) == (
        "0.3",
        "0.6",
        "50",
    )
    model = _config(tmp_path / "det_model" / "config.pbtxt").parameters
    assert json.loads(model["runtime_options"].string_value) == {"spinning": False}
    request = request.replace(dynamic_batching=True, overwrite=True)
    export(shipped_onnx(), request)
    batching = _config(tmp_path / "det_model" / "config.pbtxt").dynamic_batching
    assert batching.max_queue_delay_microseconds == 500


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "triton", "max_image_pixels": 10}, "max_image_pixels applies to a Triton ensemble"),
        ({"format": "triton", "dynamic_batching": False}, "dynamic_batching applies to a Triton ensemble"),
        ({"format": "triton", "ensemble": "native", "runtime_options": {"threads": 1}}, "python model step"),
        ({"format": "deepstream", "max_queue_delay_us": 5}, "max_queue_delay_us applies to --format triton"),
    ],
)
def test_export_api_refuses_serving_options_that_would_be_ignored(tmp_path: Path, changes, message) -> None:
    from edgeyolo.errors import EdgeYoloError
    from edgeyolo.export import ExportRequest, export

    with pytest.raises(EdgeYoloError, match=message):
        export(shipped_onnx(), ExportRequest(repo=tmp_path, **changes))
    assert not list(tmp_path.iterdir())


def test_native_step_uses_tritons_onnxruntime_backend(dynamic_onnx: Path, tmp_path: Path) -> None:
    write_triton_ensemble(dynamic_onnx, tmp_path, "det", model_step="native")
    model = _config(tmp_path / "det_model" / "config.pbtxt")
    assert model.backend == "onnxruntime" and model.platform == "onnxruntime_onnx"
    assert model.max_batch_size == 8 and model.HasField("dynamic_batching")
    assert not (tmp_path / "det_model" / "1" / "model.py").exists()
    assert (tmp_path / "det_model" / "1" / "model.onnx").is_file()
    assert _config(tmp_path / "det" / "config.pbtxt").ensemble_scheduling.step[1].model_name == "det_model"


def test_refusals(dynamic_onnx: Path, tmp_path: Path) -> None:
    with pytest.raises(TritonError, match="fixed batch"):
        write_triton_ensemble(shipped_onnx(), tmp_path, model_step="native")
    with pytest.raises(TritonError, match="model_step"):
        write_triton_ensemble(dynamic_onnx, tmp_path, model_step="tensorrt")
    with pytest.raises(TritonError, match="conf"):
        write_triton_ensemble(dynamic_onnx, tmp_path, conf=1.5)
    write_triton_ensemble(dynamic_onnx, tmp_path)
    with pytest.raises(TritonError, match="overwrite"):
        write_triton_ensemble(dynamic_onnx, tmp_path)
    write_triton_ensemble(dynamic_onnx, tmp_path, max_batch=2, overwrite=True)
    assert _config(tmp_path / "edgeyolo" / "config.pbtxt").max_batch_size == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_cli_writes_the_ensemble_and_refuses_it_elsewhere(tmp_path: Path, capsys) -> None:
    from edgeyolo.cli import main

    args = ["export", "--model", str(shipped_onnx()), "--format", "triton", "--repo", str(tmp_path)]
    assert main([*args, "--ensemble", "python", "--name", "shapes"]) == 0
    assert _config(tmp_path / "shapes" / "config.pbtxt").platform == "ensemble"
    assert main([*args, "--ensemble", "native"]) == 2
    assert "fixed batch" in capsys.readouterr().err
    assert main(["export", "--format", "onnx", "--ensemble", "python", "-o", str(tmp_path / "x.onnx")]) == 2
    assert "--ensemble is for --format triton" in capsys.readouterr().err
