"""The steer away from a slow onnxruntime INT8 path: a message for INT8 files in NNCF's layout (or of
unknown layout) on CPU, none for the onnxruntime layout, float files or other devices."""

from __future__ import annotations

import pytest

from edgeyolo.runtime.int8_advice import INT8_LAYOUT_KEY, onnxruntime_int8_advice


@pytest.mark.parametrize("layout", ["openvino", "tensorrt", None])
def test_a_layout_onnxruntime_runs_slowly_gets_a_message_naming_openvino(layout: str | None) -> None:
    metadata = {"edgeyolo": "{}"} | ({INT8_LAYOUT_KEY: layout} if layout else {})
    message = onnxruntime_int8_advice(metadata, "int8", "cpu")
    assert message is not None
    assert "slower than the FP32 model" in message and "backend='openvino'" in message
    assert "--int8-target onnxruntime" in message
    assert (f"written for {layout}" if layout else "exported before layouts were recorded") in message


@pytest.mark.parametrize(
    ("layout", "precision", "device"),
    [
        ("onnxruntime", "int8", "cpu"),
        ("quantize_static", "int8", "cpu"),
        (None, "fp32", "cpu"),
        (None, "fp16", "cpu"),
        ("openvino", "int8", "cuda"),
    ],
)
def test_no_message_where_onnxruntime_is_not_slowed(layout, precision: str, device: str) -> None:
    metadata = {INT8_LAYOUT_KEY: layout} if layout else {}
    assert onnxruntime_int8_advice(metadata, precision, device) is None
