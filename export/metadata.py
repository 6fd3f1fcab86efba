"""Build the runtime contract for an exported model, and read/write it in ONNX `metadata_props`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx

from edgeyolo import __version__
from edgeyolo.models.yolo import DetectionModel
from edgeyolo.runtime.contract import METADATA_KEY, Contract


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build_contract(
    model: DetectionModel,
    imgsz: tuple[int, int],
    outputs: str,
    uint8_input: bool,
    precision: str,
    dynamic_batch: bool,
    dynamic_shape: bool,
    source_sha256: str,
    max_det: int = 300,
    conf: float | None = None,
    iou: float | None = None,
) -> Contract:
    """The metadata record (DESIGN.md §3) for `model` exported with these settings."""
    return Contract(
        names=tuple(model.names),
        strides=tuple(model.strides),
        anchors=tuple(tuple(level) for level in model.anchors_pixels),
        imgsz=tuple(imgsz),
        outputs=outputs,
        input="uint8-nhwc-bgr" if uint8_input else "float32-nchw-rgb",
        precision=precision,
        dynamic_batch=dynamic_batch,
        dynamic_shape=dynamic_shape,
        max_det=max_det,
        nms_conf=conf if outputs == "nms" else None,
        nms_iou=iou if outputs == "nms" else None,
        source_sha256=source_sha256,
        tool_version=__version__,
    )


def write_metadata(proto: onnx.ModelProto, contract: Contract) -> None:
    """Set the `edgeyolo` record (replacing an older one) plus a few keys other tools read."""
    keep = [p for p in proto.metadata_props if p.key not in (METADATA_KEY, "names", "stride")]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    entries = {
        METADATA_KEY: contract.to_json(),
        "names": str(dict(enumerate(contract.names))),
        "stride": str(max(contract.strides)),
    }
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "edgeyolo"
    proto.producer_version = __version__


def read_metadata(proto: onnx.ModelProto) -> Contract:
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            return Contract.from_json(prop.value)
    raise KeyError(f"no {METADATA_KEY!r} metadata record")
