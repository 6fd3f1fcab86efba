"""DeepStream `nvinfer` configuration for an exported ONNX model or TensorRT engine.

`write_deepstream_config` writes, into one folder:

- ``config_infer_primary.txt``: the Gst-nvinfer config (primary detector, ``network-type=0``);
- ``labels.txt``: one class name per line;
- ``nvdsparsebbox_edgeyolo.cpp`` + ``Makefile``: the bounding-box parser (``NvDsInferParseEdgeYolo``),
  built on the DeepStream machine with ``make`` into ``libnvdsinfer_custom_impl_edgeyolo.so``.

Pre-processing matches edgeyolo's letterbox: nvinfer computes ``y = net-scale-factor * x`` on RGB planes
(``model-color-format=0``, ``net-scale-factor`` = 1/255), scales keeping the aspect ratio and pads on
both sides (``maintain-aspect-ratio=1``, ``symmetric-padding=1``). nvinfer pads with black, not 114, so
scores near the borders of non-square frames can differ slightly from `edgeyolo detect`.

Which outputs to export for DeepStream:

- ``--outputs nms`` (simplest): NMS runs inside the engine; the parser only copies rows
  (``cluster-mode=4``, no clustering), thresholded by ``pre-cluster-threshold``.
- ``--outputs decoded``: the parser picks each row's best class, scores it objectness * probability and
  thresholds it; nvinfer's own NMS clusters them (``cluster-mode=2``, ``nms-iou-threshold``, ``topk``).
- ``--outputs raw`` is refused: it would need the anchor decoding re-implemented in C++.

The input must be float32 NCHW RGB (the default): nvinfer cannot feed ``--uint8-input`` (uint8 NHWC BGR)
or a ``--half`` graph's float16 input; for FP16 keep the float32 ONNX and use ``precision="fp16"``
(``network-mode=2``), which lets TensorRT choose FP16 kernels.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgeyolo.atomic import atomic_output, prepare_parent
from edgeyolo.errors import EdgeYoloError
from edgeyolo.export.deepstream_parser import LIBRARY, MAKEFILE, PARSE_FUNCTION, PARSER_SOURCE, SOURCE_NAME
from edgeyolo.export.model_io import ModelInfo, inspect_model

CONFIG_NAME = "config_infer_primary.txt"
LABELS_NAME = "labels.txt"
NETWORK_MODES = {"fp32": 0, "int8": 1, "fp16": 2}
NET_SCALE_FACTOR = "0.0039215697906911373"  # 1/255 as nvinfer's samples write it
CLUSTER_NMS, CLUSTER_NONE = 2, 4


class DeepStreamError(EdgeYoloError):
    """The model cannot be run by nvinfer as exported, or the config cannot be written."""


def write_deepstream_config(
    model_path: str | Path,
    out_dir: str | Path,
    *,
    batch: int | None = None,
    precision: str | None = None,
    gpu_id: int = 0,
    conf: float | None = None,
    iou: float = 0.45,
    topk: int | None = None,
    unique_id: int = 1,
    interval: int = 0,
    overwrite: bool = False,
) -> list[Path]:
    """Write the nvinfer config, labels and parser source for `model_path` into `out_dir`.

    `batch` defaults to the export's fixed batch (1 when dynamic); `precision` (fp32 | fp16 | int8) to the
    model's; `conf` to the threshold baked into an nms export (else 0.25); `topk` to the export's max_det.
    Returns the written paths. Refuses existing files unless `overwrite`.
    """
    info = inspect_model(model_path)
    config = nvinfer_config(
        info, Path(out_dir), batch, precision, gpu_id, conf, iou, topk, unique_id, interval
    )
    files = {
        CONFIG_NAME: config,
        LABELS_NAME: labels_text(info.contract.names),
        SOURCE_NAME: PARSER_SOURCE,
        "Makefile": MAKEFILE,
    }
    out = Path(out_dir)
    prepare_parent(out / CONFIG_NAME)
    existing = [name for name in files if (out / name).exists()]
    if existing and not overwrite:
        raise DeepStreamError(f"{out} already holds {', '.join(existing)}; pass overwrite=True (--overwrite)")
    written = []
    for name, text in files.items():
        with atomic_output(out / name) as tmp:
            tmp.write_text(text)
        written.append(out / name)
    return written


def labels_text(names: tuple[str, ...]) -> str:
    """nvinfer's detector label file: one class per line."""
    bad = [n for n in names if not n.strip() or "\n" in n or "\r" in n]
    if bad:
        raise DeepStreamError(f"class names {bad!r} cannot be written one per line in a label file")
    return "".join(f"{n}\n" for n in names)


def nvinfer_config(
    info: ModelInfo,
    out_dir: Path,
    batch: int | None = None,
    precision: str | None = None,
    gpu_id: int = 0,
    conf: float | None = None,
    iou: float = 0.45,
    topk: int | None = None,
    unique_id: int = 1,
    interval: int = 0,
) -> str:
    """The `config_infer_primary.txt` text for `info`, with model paths relative to `out_dir`."""
    c = info.contract
    _check_feedable(info)
    precision = precision or ("fp32" if c.precision == "bf16" else c.precision)
    if precision not in NETWORK_MODES:
        raise DeepStreamError(f"precision must be one of {', '.join(NETWORK_MODES)}, got {precision!r}")
    fixed = info.inputs[0].shape[0]
    if batch is None:
        batch = fixed or 1
    if batch < 1 or (fixed is not None and batch != fixed):
        raise DeepStreamError(
            f"batch {batch} is not possible: this export's batch is {fixed}"
            if fixed is not None
            else f"batch must be >= 1, got {batch}"
        )
    conf = conf if conf is not None else (c.nms_conf if c.nms_conf is not None else 0.25)
    if not 0.0 <= conf < 1.0 or not 0.0 < iou <= 1.0:
        raise DeepStreamError("need 0 <= conf < 1 and 0 < iou <= 1")
    topk = topk or c.max_det
    h, w = c.imgsz
    model = Path(os.path.relpath(info.path.resolve(), out_dir.resolve()))
    if info.kind == "tensorrt":
        model_keys = [("model-engine-file", model.as_posix())]
    else:  # nvinfer builds the engine on first run and saves it under this name; later runs reuse it
        engine = f"{model.name}_b{batch}_gpu{gpu_id}_{precision}.engine"
        model_keys = [
            ("onnx-file", model.as_posix()),
            ("model-engine-file", (model.parent / engine).as_posix()),
        ]
    nms_inside = c.outputs == "nms"
    prop = [
        ("gpu-id", gpu_id),
        ("net-scale-factor", NET_SCALE_FACTOR),
        ("model-color-format", 0),
        *model_keys,
        ("labelfile-path", LABELS_NAME),
        ("batch-size", batch),
        ("network-mode", NETWORK_MODES[precision]),
        ("num-detected-classes", c.nc),
        ("infer-dims", f"3;{h};{w}"),
        ("network-input-order", 0),
        ("output-blob-names", ";".join(t.name for t in info.outputs)),
        ("interval", interval),
        ("gie-unique-id", unique_id),
        ("process-mode", 1),
        ("network-type", 0),
        ("cluster-mode", CLUSTER_NONE if nms_inside else CLUSTER_NMS),
        ("maintain-aspect-ratio", 1),
        ("symmetric-padding", 1),
        ("parse-bbox-func-name", PARSE_FUNCTION),
        ("custom-lib-path", f"./{LIBRARY}"),
    ]
    attrs = [("pre-cluster-threshold", conf), ("topk", topk)]
    if not nms_inside:
        attrs.insert(1, ("nms-iou-threshold", iou))
    header = [
        f"# nvinfer config written by edgeyolo {c.tool_version or ''} for {info.path.name}".rstrip(),
        f"# outputs={c.outputs}, input={c.input}, imgsz={h}x{w}, classes={c.nc}",
        f"# Build the parser first: make  (in this folder) -> {LIBRARY}",
    ]
    body = ["[property]", *(f"{k}={v}" for k, v in prop), "", "[class-attrs-all]"]
    body += [f"{k}={v}" for k, v in attrs]
    return "\n".join(header + body) + "\n"


def _check_feedable(info: ModelInfo) -> None:
    c = info.contract
    if info.kind not in ("onnxruntime", "tensorrt"):
        raise DeepStreamError("DeepStream runs ONNX models or TensorRT engines; give the .onnx or .engine")
    if c.input == "uint8-nhwc-bgr":
        raise DeepStreamError(
            "nvinfer feeds float32 NCHW RGB planes (y = net-scale-factor * x); this model takes uint8 NHWC "
            "BGR. Re-export without --uint8-input."
        )
    if info.inputs[0].dtype != "float32" or info.inputs[0].shape[1:2] != (3,):
        raise DeepStreamError(
            f"nvinfer feeds a float32 [B, 3, H, W] input; {info.inputs[0].name!r} is "
            f"{info.inputs[0].dtype} {list(info.inputs[0].shape)}. Re-export without --half "
            "(use precision fp16 here for FP16 TensorRT kernels)."
        )
    if c.outputs == "raw":
        raise DeepStreamError(
            "raw outputs need anchor decoding that DeepStream's parser does not do; re-export with "
            "--outputs nms (NMS inside the engine) or --outputs decoded (nvinfer clusters with NMS)"
        )
