"""Every shipped config builds, reproduces the documents' parameter counts, and runs at several sizes."""

from __future__ import annotations

import pytest
import torch

from edgeyolo.config import available_configs
from edgeyolo.models.yolo import create_model

# Printed totals of the design documents (seed 002's at nc 4).
DOCUMENTED_PARAMS = {
    ("yolov5-mobilenetv2", 80): 5_662_397,  # seed 004
    ("yolov5-mobilenetv4-conv-small", 80): 26_179_933,  # seed 003
    ("yolov4-pacsp", 4): 52_515_505,  # seed 002: 5.25155e+07
    ("yolov4-mobilenetv3-small", 4): 25_798_409,  # seed 002: 2.57984e+07
    ("yolov4-mobilenetv3-large", 4): 27_176_233,  # seed 002: 2.71762e+07
}

# Per-layer rows printed by the documents: (config, nc, layer index, params).
DOCUMENTED_ROWS = [
    ("yolov5-mobilenetv2", 80, 13, 708_928),  # SPPF [320, 1024, 5]
    ("yolov5-mobilenetv2", 80, 28, 229_245),  # Detect
    ("yolov5-mobilenetv4-conv-small", 80, 4, 2_493_024),  # MobileNetV4ConvSmall
    ("yolov5-mobilenetv4-conv-small", 80, 20, 457_725),  # Detect
    ("yolov4-pacsp", 4, 10, 12_858_368),  # BottleneckCSP [1024, 1024, 4]
    ("yolov4-pacsp", 4, 11, 7_610_368),  # SPPCSP [1024, 512, 1]
    ("yolov4-mobilenetv3-small", 4, 1, 880),  # mb3Block with SE, stride 2
    ("yolov4-mobilenetv3-small", 4, 13, 7_151_616),  # SPPCSP [576, 512, 1]
    ("yolov4-mobilenetv3-large", 4, 13, 233_632),  # mb3Block with conv shortcut
    ("yolov4-mobilenetv3-large", 4, 17, 7_544_832),  # SPPCSP [960, 512, 1]
]

# Our own scaled variants of seed 004, with the counts the model table of docs/models.md prints.
SCALED_PARAMS = {
    ("yolov5n-mobilenetv2", 80): 378_061,
    ("yolov5s-mobilenetv2", 80): 1_354_653,
    ("yolov5s-mobilenetv2", 5): 1_253_178,  # the shipped model
}

ALL_CONFIGS = available_configs()


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_config_is_shipped() -> None:
    expected = {
        "yolov5-mobilenetv2",
        "yolov5n-mobilenetv2",
        "yolov5s-mobilenetv2",
        "yolov5-mobilenetv4-conv-small",
        "yolov5-mobilenetv4-conv-medium",
        "yolov5-mobilenetv4-conv-large",
        "yolov4-pacsp",
        "yolov4-mobilenetv3-small",
        "yolov4-mobilenetv3-large",
        "yolov4-mobilenetv2",
        "yolov4-lite-mobilenetv1",
        "yolov4-lite-mobilenetv2",
        "yolov4-lite-mobilenetv3",
    }
    assert expected <= set(ALL_CONFIGS)


@pytest.mark.parametrize(("name", "nc"), list(DOCUMENTED_PARAMS))
def test_documented_parameter_count(name: str, nc: int) -> None:
    assert n_params(create_model(name, nc=nc)) == DOCUMENTED_PARAMS[(name, nc)]


@pytest.mark.parametrize(("name", "nc"), list(SCALED_PARAMS))
def test_scaled_variant_parameter_count(name: str, nc: int) -> None:
    assert n_params(create_model(name, nc=nc)) == SCALED_PARAMS[(name, nc)]


@pytest.mark.parametrize(("name", "nc", "index", "params"), DOCUMENTED_ROWS)
def test_documented_layer_rows(name: str, nc: int, index: int, params: int) -> None:
    rows = {r.index: r for r in create_model(name, nc=nc).rows}
    assert rows[index].params == params


def test_yolov4_mobilenetv2_uses_torchvision_layout() -> None:
    model = create_model("yolov4-mobilenetv2", nc=4)
    outs = [r.args[1] for r in model.rows if r.module == "MobileNetV2_Block"]
    assert outs == [16, 24, 24, 32, 32, 64, 64, 96, 96, 160, 160, 320]
    assert [r.args[1] for r in model.rows if r.module == "Conv"][1] == 1280


@pytest.mark.parametrize("name", ALL_CONFIGS)
@pytest.mark.parametrize("imgsz", [(64, 64), (96, 160)])
def test_forward_shapes(name: str, imgsz: tuple[int, int]) -> None:
    model = create_model(name, nc=3).eval()
    assert model.strides == [8, 16, 32]
    x = torch.rand(2, 3, *imgsz)
    head = model.head
    with torch.no_grad():
        head.mode = "raw"
        raw = model(x)
        head.mode = "decoded"
        decoded = model(x)
    assert len(raw) == 3
    cells = 0
    for level, stride in zip(raw, model.strides, strict=True):
        assert level.shape == (2, head.na * (5 + 3), imgsz[0] // stride, imgsz[1] // stride)
        cells += level.shape[-1] * level.shape[-2]
    assert decoded.shape == (2, head.na * cells, 8)
    assert torch.isfinite(decoded).all()
    # Decoded centres lie inside (or half a cell beyond) the input.
    assert decoded[..., 0].min() >= -0.5 * 32 and decoded[..., 0].max() <= imgsz[1] + 0.5 * 32


def test_width_and_depth_multiples_scale_the_model() -> None:
    from edgeyolo.config import load_config, parse_config_text

    text = load_config("yolov5-mobilenetv2").text
    small = parse_config_text(
        text.replace("depth_multiple: 1.0", "depth_multiple: 0.33").replace(
            "width_multiple: 1.0", "width_multiple: 0.25"
        ),
        "narrow.yaml",
    )
    from edgeyolo.models.yolo import DetectionModel

    narrow = DetectionModel(small)
    assert n_params(narrow) < n_params(create_model("yolov5-mobilenetv2")) / 8
    with torch.no_grad():
        out = narrow.eval()(torch.rand(1, 3, 64, 64))
    assert out.shape[-1] == 85
