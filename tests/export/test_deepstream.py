"""DeepStream nvinfer configs: documented keys only, values that match the export, clear refusals."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
import torch

from edgeyolo.export.deepstream import DeepStreamError, write_deepstream_config
from edgeyolo.export.deepstream_parser import PARSE_FUNCTION
from edgeyolo.export.metadata import sha256_file
from edgeyolo.export.model_io import inspect_model
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime.backends.tensorrt_sidecar import EngineRecord, sidecar_path

# Keys of the Gst-nvinfer configuration file as NVIDIA documents them ("Gst-nvinfer Property Group
# Supported" and "Gst-nvinfer Class-attributes Group Supported" tables,
# https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/DS_plugin_gst-nvinfer.html).
NVINFER_PROPERTY_KEYS = {
    "num-detected-classes", "net-scale-factor", "model-file", "proto-file", "int8-calib-file", "batch-size",
    "model-engine-file", "uff-file", "onnx-file", "enable-dbscan", "labelfile-path", "mean-file",
    "gie-unique-id", "operate-on-gie-id", "operate-on-class-ids", "interval", "input-object-min-width",
    "input-object-min-height", "input-object-max-width", "input-object-max-height", "uff-input-dims",
    "uff-input-blob-name", "network-mode", "offsets", "output-blob-names", "output-tensor-meta",
    "parse-bbox-func-name", "parse-bbox-instance-mask-func-name", "custom-lib-path", "model-color-format",
    "classifier-async-mode", "process-mode", "classifier-threshold", "secondary-reinfer-interval",
    "maintain-aspect-ratio", "symmetric-padding", "parse-classifier-func-name", "custom-network-config",
    "tlt-encoded-model", "tlt-model-key", "segmentation-threshold", "segmentation-output-order",
    "workspace-size", "force-implicit-batch-dim", "infer-dims", "uff-input-order", "engine-create-func-name",
    "cluster-mode", "filter-out-class-ids", "scaling-filter", "scaling-compute-hw", "output-io-formats",
    "layer-device-precision", "network-input-order", "classifier-type", "network-type", "gpu-id",
    "enable-dla", "use-dla-core", "crop-objects-to-roi-boundary", "output-instance-mask",
    "disable-output-host-copy",
}  # fmt: skip
NVINFER_CLASS_ATTR_KEYS = {
    "threshold", "pre-cluster-threshold", "post-cluster-threshold", "eps", "group-threshold", "minBoxes",
    "dbscan-min-score", "nms-iou-threshold", "roi-top-offset", "roi-bottom-offset", "detected-min-w",
    "detected-min-h", "detected-max-w", "detected-max-h", "topk", "border-color", "bg-color",
}  # fmt: skip

IMGSZ = (64, 96)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = create_model("yolov5n-mobilenetv2", nc=3).eval()
    m.names = ["car", "bus", "traffic light"]
    return m


def export(model, path: Path, **kw) -> Path:
    options = OnnxExportOptions(imgsz=IMGSZ, verify=False, report_unfused=False, **kw)
    export_onnx(model, path, options)
    return path


def read_config(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive (minBoxes)
    parser.read_string(path.read_text())
    return parser


@pytest.mark.parametrize("mode", ["decoded", "nms"])
def test_config_for_onnx(mode: str, model, tmp_path: Path) -> None:
    onnx_path = export(model, tmp_path / "models" / f"tiny-{mode}.onnx", outputs=mode, conf=0.3, max_det=50)
    out = tmp_path / "ds"
    written = write_deepstream_config(onnx_path, out, precision="fp16")
    names = sorted(p.name for p in written)
    assert names == ["Makefile", "config_infer_primary.txt", "labels.txt", "nvdsparsebbox_edgeyolo.cpp"]
    assert (out / "labels.txt").read_text().splitlines() == ["car", "bus", "traffic light"]

    cfg = read_config(out / "config_infer_primary.txt")
    assert cfg.sections() == ["property", "class-attrs-all"]
    assert set(cfg["property"]) <= NVINFER_PROPERTY_KEYS, set(cfg["property"]) - NVINFER_PROPERTY_KEYS
    assert set(cfg["class-attrs-all"]) <= NVINFER_CLASS_ATTR_KEYS
    p, attrs = cfg["property"], cfg["class-attrs-all"]
    assert (out / p["onnx-file"]).resolve() == onnx_path.resolve()  # relative to the config's folder
    assert p["model-engine-file"] == f"../models/tiny-{mode}.onnx_b1_gpu0_fp16.engine"
    assert float(p["net-scale-factor"]) == pytest.approx(1 / 255, rel=1e-6)  # float32(1/255)
    expected = {
        "model-color-format": "0",
        "maintain-aspect-ratio": "1",
        "symmetric-padding": "1",
        "network-type": "0",
        "network-mode": "2",
        "batch-size": "1",
        "num-detected-classes": "3",
        "infer-dims": "3;64;96",
        "labelfile-path": "labels.txt",
        "parse-bbox-func-name": PARSE_FUNCTION,
        "custom-lib-path": "./libnvdsinfer_custom_impl_edgeyolo.so",
        "output-blob-names": "detections;num_dets" if mode == "nms" else "output",
        "cluster-mode": "4" if mode == "nms" else "2",
    }
    assert {k: p[k] for k in expected} == expected
    assert float(attrs["pre-cluster-threshold"]) == pytest.approx(0.3 if mode == "nms" else 0.25)
    assert attrs["topk"] == "50"
    assert ("nms-iou-threshold" in attrs) == (mode == "decoded")
    assert PARSE_FUNCTION in (out / "nvdsparsebbox_edgeyolo.cpp").read_text()


def test_dynamic_batch_and_overwrite(model, tmp_path: Path) -> None:
    onnx_path = export(model, tmp_path / "m.onnx", outputs="decoded", dynamic_batch=True)
    write_deepstream_config(onnx_path, tmp_path, batch=4)
    p = read_config(tmp_path / "config_infer_primary.txt")["property"]
    assert p["batch-size"] == "4" and p["network-mode"] == "0" and p["onnx-file"] == "m.onnx"
    with pytest.raises(DeepStreamError, match="already holds"):
        write_deepstream_config(onnx_path, tmp_path, batch=4)
    write_deepstream_config(onnx_path, tmp_path, batch=2, overwrite=True)
    assert read_config(tmp_path / "config_infer_primary.txt")["property"]["batch-size"] == "2"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_engine_with_sidecar(model, tmp_path: Path) -> None:
    onnx_path = export(model, tmp_path / "m.onnx", outputs="nms")
    contract = inspect_model(onnx_path).contract
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    record = EngineRecord(
        contract=contract, tensorrt_version="10.3.0", gpu_name="Orin", compute_capability="8.7",
        precision="fp16", onnx_sha256=sha256_file(onnx_path), engine_sha256="1" * 64,
    )  # fmt: skip
    sidecar_path(engine).write_text(record.to_json())
    write_deepstream_config(engine, tmp_path / "ds")
    p = read_config(tmp_path / "ds" / "config_infer_primary.txt")["property"]
    assert p["model-engine-file"] == "../m.engine" and "onnx-file" not in p
    assert p["output-blob-names"] == "detections;num_dets" and p["network-mode"] == "0"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"outputs": "raw"}, "--outputs nms"),
        ({"outputs": "nms", "uint8_input": True}, "without --uint8-input"),
    ],
)
def test_refuses_what_nvinfer_cannot_feed(kw: dict, message: str, model, tmp_path: Path) -> None:
    onnx_path = export(model, tmp_path / "m.onnx", **kw)
    with pytest.raises(DeepStreamError, match=message):
        write_deepstream_config(onnx_path, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_refuses_a_batch_the_export_cannot_take(model, tmp_path: Path) -> None:
    onnx_path = export(model, tmp_path / "m.onnx", outputs="nms", batch=2)
    with pytest.raises(DeepStreamError, match="batch is 2"):
        write_deepstream_config(onnx_path, tmp_path / "ds", batch=1)
    write_deepstream_config(onnx_path, tmp_path / "ds")
    assert read_config(tmp_path / "ds" / "config_infer_primary.txt")["property"]["batch-size"] == "2"
