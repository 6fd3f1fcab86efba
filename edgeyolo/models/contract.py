"""The runtime contract (DESIGN.md §3) describing a model as it is exported or run."""

from __future__ import annotations

from edgeyolo import __version__
from edgeyolo.models.yolo import DetectionModel
from edgeyolo.runtime.contract import Contract


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
        head="yolov3-anchor" if model.head.box_decode == "yolov3" else "yolov5-anchor",
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
