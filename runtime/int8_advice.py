"""Steer INT8 ONNX files away from a slow onnxruntime path, with a message instead of silence.

An INT8 QDQ file written for OpenVINO or TensorRT (NNCF's layout: Q/DQ after each SiLU) runs on
onnxruntime's CPU provider *slower* than the FP32 file: onnxruntime fuses only a few of its convs into
QLinearConv and runs the rest as float convs on weights it dequantizes on every call (measured 0.37-0.43×
FP32 on the shipped model at 640). Files exported before the layout was recorded are in that layout too.
`edgeyolo export --int8` writes the onnxruntime layout by default, which onnxruntime fuses fully.
"""

from __future__ import annotations

from collections.abc import Mapping

INT8_LAYOUT_KEY = "edgeyolo_int8_layout"  # ONNX metadata_props key: the runtime an INT8 file's layout is for


def onnxruntime_int8_advice(metadata: Mapping[str, str], precision: str, device: str = "cpu") -> str | None:
    """A warning to show before onnxruntime runs an INT8 file on the CPU in a layout it runs slowly, else
    None. `metadata`: the file's metadata_props (`session.get_modelmeta().custom_metadata_map`);
    `precision`: the contract's; `device`: the one onnxruntime runs on."""
    if precision != "int8" or device != "cpu":
        return None
    layout = metadata.get(INT8_LAYOUT_KEY)
    if layout in ("onnxruntime", "quantize_static"):
        return None
    written = (
        f"written for {layout}" if layout else "in NNCF's layout (exported before layouts were recorded)"
    )
    return (
        f"this INT8 ONNX is {written}: onnxruntime on CPU runs it slower than the FP32 model (most "
        "convs stay float on dequantized weights). Run it with backend='openvino' (--backend openvino), "
        "which is faster, or re-export it for onnxruntime: edgeyolo export --int8 --int8-target onnxruntime"
    )
