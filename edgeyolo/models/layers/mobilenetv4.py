"""MobileNetV4 Conv-Small/Medium/Large as multi-output backbones (seed 003).

Block specs are the documents' (`convbn`, `uib`, `fused_ib`). Each backbone returns the last feature map
at strides 4, 8, 16 and 32; the YAML parser places them at layer indices 1..4 (index 0 is a placeholder),
so a head refers to stride 8 as layer 2, stride 16 as layer 3 and stride 32 as layer 4.
"""

from __future__ import annotations

import torch
from torch import nn

from edgeyolo.models.layers.conv import ConvBNAct
from edgeyolo.models.registry import register_block

# convbn: [inp, oup, kernel, stride]
# uib: [inp, oup, start_dw_kernel, middle_dw_kernel, middle_dw_downsample, stride, expand_ratio]
# fused_ib: [inp, oup, stride, expand_ratio, act]
MNV4_SPECS: dict[str, dict[str, tuple[str, list[list]]]] = {
    "MobileNetV4ConvSmall": {
        "conv0": ("convbn", [[3, 32, 3, 2]]),
        "layer1": ("convbn", [[32, 32, 3, 2], [32, 32, 1, 1]]),
        "layer2": ("convbn", [[32, 96, 3, 2], [96, 64, 1, 1]]),
        "layer3": (
            "uib",
            [
                [64, 96, 5, 5, True, 2, 3],
                [96, 96, 0, 3, True, 1, 2],
                [96, 96, 0, 3, True, 1, 2],
                [96, 96, 0, 3, True, 1, 2],
                [96, 96, 0, 3, True, 1, 2],
                [96, 96, 3, 0, True, 1, 4],
            ],
        ),
        "layer4": (
            "uib",
            [
                [96, 128, 3, 3, True, 2, 6],
                [128, 128, 5, 5, True, 1, 4],
                [128, 128, 0, 5, True, 1, 4],
                [128, 128, 0, 5, True, 1, 3],
                [128, 128, 0, 3, True, 1, 4],
                [128, 128, 0, 3, True, 1, 4],
            ],
        ),
        "layer5": ("convbn", [[128, 960, 1, 1], [960, 1280, 1, 1]]),
    },
    "MobileNetV4ConvMedium": {
        "conv0": ("convbn", [[3, 32, 3, 2]]),
        "layer1": ("fused_ib", [[32, 48, 2, 4.0, True]]),
        "layer2": ("uib", [[48, 80, 3, 5, True, 2, 4], [80, 80, 3, 3, True, 1, 2]]),
        "layer3": (
            "uib",
            [
                [80, 160, 3, 5, True, 2, 6],
                [160, 160, 3, 3, True, 1, 4],
                [160, 160, 3, 3, True, 1, 4],
                [160, 160, 3, 5, True, 1, 4],
                [160, 160, 3, 3, True, 1, 4],
                [160, 160, 3, 0, True, 1, 4],
                [160, 160, 0, 0, True, 1, 2],
                [160, 160, 3, 0, True, 1, 4],
            ],
        ),
        "layer4": (
            "uib",
            [
                [160, 256, 5, 5, True, 2, 6],
                [256, 256, 5, 5, True, 1, 4],
                [256, 256, 3, 5, True, 1, 4],
                [256, 256, 3, 5, True, 1, 4],
                [256, 256, 0, 0, True, 1, 4],
                [256, 256, 3, 0, True, 1, 4],
                [256, 256, 3, 5, True, 1, 2],
                [256, 256, 5, 5, True, 1, 4],
                [256, 256, 0, 0, True, 1, 4],
                [256, 256, 0, 0, True, 1, 4],
                [256, 256, 5, 0, True, 1, 2],
            ],
        ),
        "layer5": ("convbn", [[256, 960, 1, 1], [960, 1280, 1, 1]]),
    },
    "MobileNetV4ConvLarge": {
        "conv0": ("convbn", [[3, 24, 3, 2]]),
        "layer1": ("fused_ib", [[24, 48, 2, 4.0, True]]),
        "layer2": ("uib", [[48, 96, 3, 5, True, 2, 4], [96, 96, 3, 3, True, 1, 4]]),
        "layer3": (
            "uib",
            [
                [96, 192, 3, 5, True, 2, 4],
                [192, 192, 3, 3, True, 1, 4],
                [192, 192, 3, 3, True, 1, 4],
                [192, 192, 3, 3, True, 1, 4],
                [192, 192, 3, 5, True, 1, 4],
                [192, 192, 5, 3, True, 1, 4],
                [192, 192, 5, 3, True, 1, 4],
                [192, 192, 5, 3, True, 1, 4],
                [192, 192, 5, 3, True, 1, 4],
                [192, 192, 5, 3, True, 1, 4],
                [192, 192, 3, 0, True, 1, 4],
            ],
        ),
        "layer4": (
            "uib",
            [
                [192, 512, 5, 5, True, 2, 4],
                [512, 512, 5, 5, True, 1, 4],
                [512, 512, 5, 5, True, 1, 4],
                [512, 512, 5, 5, True, 1, 4],
                [512, 512, 5, 0, True, 1, 4],
                [512, 512, 5, 3, True, 1, 4],
                [512, 512, 5, 0, True, 1, 4],
                [512, 512, 5, 0, True, 1, 4],
                [512, 512, 5, 3, True, 1, 4],
                [512, 512, 5, 5, True, 1, 4],
                [512, 512, 5, 0, True, 1, 4],
                [512, 512, 5, 0, True, 1, 4],
                [512, 512, 5, 0, True, 1, 4],
            ],
        ),
        "layer5": ("convbn", [[512, 960, 1, 1], [960, 1280, 1, 1]]),
    },
}
STAGES = ("conv0", "layer1", "layer2", "layer3", "layer4", "layer5")
FEATURE_STRIDES = (4, 8, 16, 32)


def make_divisible(
    value: float, divisor: int, min_value: int | None = None, round_down_protect: bool = True
) -> int:
    """Round `value` to a multiple of `divisor`, never more than 10% below it (MobileNet convention)."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if round_down_protect and new_value < 0.9 * value:
        new_value += divisor
    return int(new_value)


def conv_2d(
    inp: int, oup: int, kernel_size: int = 3, stride: int = 1, groups: int = 1, act: bool = True
) -> ConvBNAct:
    """conv-BN(-ReLU6), the MobileNetV4 unit."""
    return ConvBNAct(
        inp, oup, kernel_size, stride, (kernel_size - 1) // 2, g=groups, act="ReLU6" if act else False
    )


class InvertedResidual(nn.Module):
    """The documents' `fused_ib`: 1x1 expand, 3x3 depthwise, 1x1 project (ReLU6 when `act`)."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: float, act: bool = False) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"fused_ib stride must be 1 or 2, got {stride}")
        hidden = round(inp * expand_ratio)
        self.block = nn.Sequential()
        if expand_ratio != 1:
            self.block.add_module("exp_1x1", conv_2d(inp, hidden, kernel_size=1))
        self.block.add_module(
            "conv_3x3", conv_2d(hidden, hidden, kernel_size=3, stride=stride, groups=hidden)
        )
        self.block.add_module("red_1x1", conv_2d(hidden, oup, kernel_size=1, act=act))
        self.use_res_connect = stride == 1 and inp == oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_res_connect else self.block(x)


class UniversalInvertedBottleneckBlock(nn.Module):
    """MobileNetV4 UIB: optional start depthwise, 1x1 expand, optional middle depthwise, 1x1 project.

    Residual when stride is 1 and channels are unchanged, as in the MobileNetV4 paper and reference code
    (the documents' abridged listing omits it; it adds no parameters).
    """

    def __init__(
        self,
        inp: int,
        oup: int,
        start_dw_kernel_size: int,
        middle_dw_kernel_size: int,
        middle_dw_downsample: bool,
        stride: int,
        expand_ratio: float,
    ) -> None:
        super().__init__()
        self.start_dw_kernel_size = start_dw_kernel_size
        if start_dw_kernel_size:
            s = 1 if middle_dw_downsample else stride
            self._start_dw_ = conv_2d(inp, inp, start_dw_kernel_size, s, groups=inp, act=False)
        expand = make_divisible(inp * expand_ratio, 8)
        self._expand_conv = conv_2d(inp, expand, kernel_size=1)
        self.middle_dw_kernel_size = middle_dw_kernel_size
        if middle_dw_kernel_size:
            s = stride if middle_dw_downsample else 1
            self._middle_dw = conv_2d(expand, expand, middle_dw_kernel_size, s, groups=expand)
        self._proj_conv = conv_2d(expand, oup, kernel_size=1, act=False)
        self.use_residual = stride == 1 and inp == oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.start_dw_kernel_size:
            x = self._start_dw_(x)
        x = self._expand_conv(x)
        if self.middle_dw_kernel_size:
            x = self._middle_dw(x)
        x = self._proj_conv(x)
        return x + shortcut if self.use_residual else x


def _build_stage(kind: str, specs: list[list]) -> nn.Sequential:
    stage = nn.Sequential()
    for i, spec in enumerate(specs):
        if kind == "convbn":
            inp, oup, k, s = spec
            stage.add_module(f"convbn_{i}", conv_2d(inp, oup, k, s))
        elif kind == "uib":
            stage.add_module(f"uib_{i}", UniversalInvertedBottleneckBlock(*spec))
        elif kind == "fused_ib":
            stage.add_module(f"fused_ib_{i}", InvertedResidual(*spec))
        else:
            raise ValueError(f"unknown MobileNetV4 block kind {kind!r}")
    return stage


def _stage_stride(kind: str, specs: list[list]) -> int:
    index = {"convbn": 3, "uib": 5, "fused_ib": 2}[kind]
    stride = 1
    for spec in specs:
        stride *= spec[index]
    return stride


class MobileNetV4(nn.Module):
    """A MobileNetV4 backbone returning its stride 4, 8, 16 and 32 feature maps."""

    multi_output = True

    def __init__(self, variant: str, c1: int = 3) -> None:
        super().__init__()
        if variant not in MNV4_SPECS:
            raise ValueError(f"unknown MobileNetV4 variant {variant!r}; known: {', '.join(MNV4_SPECS)}")
        spec = MNV4_SPECS[variant]
        first_in = spec["conv0"][1][0][0]
        if c1 != first_in:
            raise ValueError(f"{variant} takes {first_in} input channels, the model gives it {c1}")
        self.variant = variant
        for name in STAGES:
            setattr(self, name, _build_stage(*spec[name]))
        # The last stage at each feature stride is the one returned.
        stride, self._taps, channels = 1, {}, {}
        for idx, name in enumerate(STAGES):
            kind, specs = spec[name]
            stride *= _stage_stride(kind, specs)
            if stride in FEATURE_STRIDES:
                self._taps[stride] = idx
                channels[stride] = specs[-1][1]
        missing = [s for s in FEATURE_STRIDES if s not in channels]
        if missing:
            raise ValueError(f"{variant} has no stage at stride(s) {missing}")
        self.out_channels = [channels[s] for s in FEATURE_STRIDES]
        self._tap_of_stage = {idx: FEATURE_STRIDES.index(s) for s, idx in self._taps.items()}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features: list[torch.Tensor] = [x] * len(FEATURE_STRIDES)
        for idx, name in enumerate(STAGES):
            x = getattr(self, name)(x)
            if idx in self._tap_of_stage:
                features[self._tap_of_stage[idx]] = x
        return features


@register_block(kind="backbone")
class MobileNetV4ConvSmall(MobileNetV4):
    def __init__(self, c1: int = 3) -> None:
        super().__init__("MobileNetV4ConvSmall", c1)


@register_block(kind="backbone")
class MobileNetV4ConvMedium(MobileNetV4):
    def __init__(self, c1: int = 3) -> None:
        super().__init__("MobileNetV4ConvMedium", c1)


@register_block(kind="backbone")
class MobileNetV4ConvLarge(MobileNetV4):
    def __init__(self, c1: int = 3) -> None:
        super().__init__("MobileNetV4ConvLarge", c1)
