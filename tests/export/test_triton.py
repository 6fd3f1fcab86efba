"""Triton model repositories: configs parse with Triton's own protobuf and match the exported model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from edgeyolo.export.metadata import sha256_file
from edgeyolo.export.model_io import ModelInfo, TensorSpec, contract_tensors
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.export.triton import TritonError, triton_config, write_triton_repository
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime.backends.tensorrt_sidecar import EngineRecord, sidecar_path
from edgeyolo.runtime.contract import Contract
from edgeyolo.runtime.decode import decode_decoded, decode_raw
from edgeyolo.runtime.detector import Detector
from edgeyolo.runtime.letterbox import letterbox
from edgeyolo.runtime.nms import nms

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2", reason="tritonclient[grpc] (dev extra) is not installed"
)
text_format = pytest.importorskip("google.protobuf.text_format")

IMGSZ = (64, 64)
CONF = 0.05
# name -> (outputs mode, dynamic batch, fixed batch)
EXPORTS = {"raw": ("raw", False, 1), "decoded": ("decoded", True, 1), "nms": ("nms", True, 1)}
ORT_TO_TRITON = {
    "tensor(float)": model_config_pb2.TYPE_FP32,
    "tensor(float16)": model_config_pb2.TYPE_FP16,
    "tensor(uint8)": model_config_pb2.TYPE_UINT8,
    "tensor(int64)": model_config_pb2.TYPE_INT64,
    "tensor(int32)": model_config_pb2.TYPE_INT32,
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5n-mobilenetv2", nc=3), seed=2).eval()
    with torch.no_grad():  # enough objectness that every mode has detections to compare
        for conv in model.head.m:
            conv.bias.view(model.head.na, -1)[:, 4] += 6.0
    model.names = ["a", "b", "c"]
    out = tmp_path_factory.mktemp("onnx")
    paths = {}
    for key, (mode, dynamic, batch) in EXPORTS.items():
        path = out / f"tiny-{key}.onnx"
        options = OnnxExportOptions(
            imgsz=IMGSZ, batch=batch, outputs=mode, dynamic_batch=dynamic, conf=0.05, max_det=50,
            verify=False, report_unfused=False,
        )  # fmt: skip
        export_onnx(model, path, options)
        paths[key] = path
    return paths


def parse_config(path: Path):
    config = model_config_pb2.ModelConfig()
    text_format.Parse(path.read_text(), config)
    return config


def ort_dims(shape) -> list[int]:
    return [d if isinstance(d, int) else -1 for d in shape]


@pytest.mark.parametrize("key", list(EXPORTS))
def test_config_matches_the_onnx_graph(key: str, exports, tmp_path: Path) -> None:
    onnx_path = exports[key]
    model_dir = write_triton_repository(onnx_path, tmp_path / "repo", instances=2, max_batch=4)
    assert model_dir == tmp_path / "repo" / onnx_path.stem
    config = parse_config(model_dir / "config.pbtxt")
    served = model_dir / "1" / "model.onnx"
    assert sha256_file(served) == sha256_file(onnx_path)

    assert config.name == model_dir.name
    assert config.platform == "onnxruntime_onnx" and config.backend == "onnxruntime"
    session = ort.InferenceSession(str(served), providers=["CPUExecutionProvider"])
    contract = Contract.from_json(config.parameters["edgeyolo"].string_value)
    assert contract == Contract.from_json(session.get_modelmeta().custom_metadata_map["edgeyolo"])
    assert json.loads(config.parameters["names"].string_value) == ["a", "b", "c"]

    batched = contract.dynamic_batch
    assert batched == EXPORTS[key][1]
    assert config.max_batch_size == (4 if batched else 0)
    assert config.HasField("dynamic_batching") == batched
    for ours, theirs in ((config.input, session.get_inputs()), (config.output, session.get_outputs())):
        assert [t.name for t in ours] == [t.name for t in theirs]
        for t, o in zip(ours, theirs, strict=True):
            assert t.data_type == ORT_TO_TRITON[o.type]
            full = ort_dims(o.shape)
            if not batched:
                assert list(t.dims) == full
            elif len(full) == 1:  # num_dets [B]: one value per request, reshaped to a scalar
                assert list(t.dims) == [1] and t.HasField("reshape") and list(t.reshape.shape) == []
            else:
                assert full[0] == -1 and list(t.dims) == full[1:]
    assert [(g.count, g.kind) for g in config.instance_group] == [
        (2, model_config_pb2.ModelInstanceGroup.KIND_AUTO)
    ]


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 255, size=(48 + 8 * i, 80, 3), dtype=np.uint8) for i in range(n)]


def client_detect(config, served: Path, images: list[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    """What a Triton client does: letterbox, send the batch, decode the returned tensors with the
    contract from the model config. onnxruntime runs the file the way Triton's onnxruntime backend does."""
    contract = Contract.from_json(config.parameters["edgeyolo"].string_value)
    prepared = [letterbox(f, contract.imgsz, stride=max(contract.strides)) for f in images]
    x = np.stack([img[:, :, ::-1].transpose(2, 0, 1) for img, _ in prepared]).astype(np.float32) / 255.0
    session = ort.InferenceSession(str(served), providers=["CPUExecutionProvider"])
    outputs = session.run([t.name for t in config.output], {config.input[0].name: x})
    if contract.outputs == "raw":
        cands = decode_raw(outputs, contract, conf=CONF)
    else:
        cands = decode_decoded(outputs[0], conf=CONF)
    results = []
    for c, (_, info) in zip(cands, prepared, strict=True):
        keep = nms(c.xyxy, c.score, c.class_id, 0.45, 300)
        results.append((info.to_original(c.xyxy[keep]), c.score[keep], c.class_id[keep]))
    return results


def canonical(xyxy: np.ndarray, score: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Rows (class, score, box) in an order that float rounding of near-equal scores cannot change."""
    rows = np.column_stack([cls.astype(np.float32), score, xyxy])
    return rows[np.lexsort(np.round(rows, 2).T[::-1])]


@pytest.mark.parametrize("key", ["raw", "decoded"])
def test_runtime_decodes_what_triton_returns(key: str, exports, tmp_path: Path) -> None:
    model_dir = write_triton_repository(exports[key], tmp_path / "repo")
    config = parse_config(model_dir / "config.pbtxt")
    images = frames(1 if config.max_batch_size == 0 else 2)
    got = client_detect(config, model_dir / "1" / "model.onnx", images)
    with Detector(exports[key], conf=CONF, iou=0.45) as det:
        want = det.detect_batch(images)
    assert any(len(w) for w in want), "the test model should detect something"
    for (xyxy, score, cls), w in zip(got, want, strict=True):  # equal scores may come in either order
        np.testing.assert_allclose(
            canonical(xyxy, score, cls), canonical(w.xyxy, w.confidence, w.class_id), atol=1e-3
        )


def test_refuses_to_overwrite_and_replaces_atomically(exports, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_triton_repository(exports["raw"], repo, name="det")
    with pytest.raises(TritonError, match="exists"):
        write_triton_repository(exports["raw"], repo, name="det")
    write_triton_repository(exports["decoded"], repo, name="det", overwrite=True)
    assert parse_config(repo / "det" / "config.pbtxt").max_batch_size == 8
    assert sorted(p.name for p in repo.iterdir()) == ["det"]  # no temporary leftovers


def test_bad_requests_are_refused(exports, tmp_path: Path) -> None:
    with pytest.raises(TritonError, match="not tensorrt"):
        write_triton_repository(exports["raw"], tmp_path, kind="tensorrt")
    with pytest.raises(TritonError, match="model name"):
        write_triton_repository(exports["raw"], tmp_path, name="../up")
    with pytest.raises(TritonError, match="instances"):
        write_triton_repository(exports["raw"], tmp_path, instances=0)
    assert not any(tmp_path.iterdir())


def tiny_contract(**kw) -> Contract:
    base = {
        "names": ("person", 'say "hi"', "café\\x"),
        "strides": (8, 16, 32),
        "anchors": ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326)),
        "imgsz": (64, 96),
    }
    return Contract(**{**base, **kw})


def test_awkward_strings_survive_text_format() -> None:
    contract = tiny_contract()
    inputs, outputs = contract_tensors(contract, batch=1)
    info = ModelInfo("onnxruntime", Path("m.onnx"), (Path("m.onnx"),), contract, inputs, outputs, {})
    config = model_config_pb2.ModelConfig()
    text_format.Parse(triton_config(info, "m"), config)
    assert Contract.from_json(config.parameters["edgeyolo"].string_value) == contract
    assert json.loads(config.parameters["names"].string_value) == list(contract.names)


def test_tensorrt_engine_with_sidecar(tmp_path: Path) -> None:
    """Layout and config of an engine (its bytes are opaque here; TensorRT runs it on the GPU)."""
    contract = tiny_contract(outputs="nms", dynamic_batch=True, max_det=20)
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan bytes")
    record = EngineRecord(
        contract=contract, tensorrt_version="10.3.0", gpu_name="Orin", compute_capability="8.7",
        precision="fp16", onnx_sha256="0" * 64, engine_sha256="1" * 64,
        profile={"images": [[1, 3, 64, 96], [2, 3, 64, 96], [4, 3, 64, 96]]},
        outputs=(
            {"name": "detections", "dtype": "float32", "shape": [-1, 20, 6]},
            {"name": "num_dets", "dtype": "int64", "shape": [-1]},
        ),
        inputs=({"name": "images", "dtype": "float32", "shape": [-1, 3, 64, 96]},),
    )  # fmt: skip
    sidecar_path(engine).write_text(record.to_json())
    model_dir = write_triton_repository(engine, tmp_path / "repo", max_batch=2)
    config = parse_config(model_dir / "config.pbtxt")
    assert (model_dir / "1" / "model.plan").read_bytes() == b"plan bytes"
    assert config.platform == "tensorrt_plan" and config.backend == "tensorrt"
    assert config.max_batch_size == 2 and config.HasField("dynamic_batching")
    assert [(t.name, list(t.dims)) for t in config.input] == [("images", [3, 64, 96])]
    assert [(t.name, list(t.dims)) for t in config.output] == [("detections", [20, 6]), ("num_dets", [1])]
    assert config.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
    assert config.parameters["tensorrt_version"].string_value == "10.3.0"
    assert Contract.from_json(config.parameters["edgeyolo"].string_value) == contract
    with pytest.raises(TritonError, match="optimisation profile"):
        write_triton_repository(engine, tmp_path / "repo2", max_batch=8)
    with pytest.raises(TritonError, match="GPU only"):
        write_triton_repository(engine, tmp_path / "repo2", device="cpu")


def test_openvino_ir(exports, tmp_path: Path) -> None:
    ov = pytest.importorskip("openvino", reason="openvino is not installed")
    source = exports["decoded"]
    model = ov.Core().read_model(str(source))
    meta = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"]).get_modelmeta()
    model.set_rt_info(meta.custom_metadata_map["edgeyolo"], ["edgeyolo"])
    ir = tmp_path / "tiny_openvino_model"
    ir.mkdir()
    ov.save_model(model, str(ir / "model.xml"), compress_to_fp16=False)

    model_dir = write_triton_repository(ir, tmp_path / "repo")
    config = parse_config(model_dir / "config.pbtxt")
    assert model_dir.name == "tiny_openvino_model"
    assert config.backend == "openvino" and not config.platform
    assert sorted(p.name for p in (model_dir / "1").iterdir()) == ["model.bin", "model.xml"]
    assert config.max_batch_size == 8
    assert [(t.name, list(t.dims)) for t in config.input] == [("images", [3, *IMGSZ])]
    assert config.output[0].name == "output" and config.output[0].data_type == model_config_pb2.TYPE_FP32
    assert config.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_CPU


def test_spec_batch_axis_must_agree_with_contract() -> None:
    contract = tiny_contract(dynamic_batch=True)
    _, outputs = contract_tensors(contract)
    fixed = (TensorSpec("images", "float32", (1, 3, 64, 96)),)
    info = ModelInfo("onnxruntime", Path("m.onnx"), (Path("m.onnx"),), contract, fixed, outputs, {})
    with pytest.raises(TritonError, match="fixed first axis"):
        triton_config(info, "m")
