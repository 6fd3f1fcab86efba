"""Registry of the modules a model YAML may name. Names resolve here, never through `eval`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from edgeyolo.models.head import Detect
from edgeyolo.models.layers.activations import hsigmoid, hswish
from edgeyolo.models.layers.conv import CBH, Conv, DWConv, conv_bn, conv_dw
from edgeyolo.models.layers.csp import C3, Bottleneck, BottleneckCSP, BottleneckCSP2
from edgeyolo.models.layers.mobilenet import (
    MobileNetV2_Block,
    RepVGGBlock,
    conv_bn_relu_maxpool,
    mb3Block,
    mb3SE,
)
from edgeyolo.models.layers.mobilenetv4 import (
    MobileNetV4ConvLarge,
    MobileNetV4ConvMedium,
    MobileNetV4ConvSmall,
)
from edgeyolo.models.layers.neck import Concat, make_five_conv, make_three_conv
from edgeyolo.models.layers.pooling import SPP, SPPCSP, SPPF, SpatialPyramidPooling


@dataclass(frozen=True)
class LayerSpec:
    """How the parser turns a YAML row into a module and its output channels.

    kind:
      ``channels``  args name output channels at `out_arg`; `c1` is prepended, `channel_args` are
                    width-scaled; with `repeats_inside`, `n` goes into the module (CSP blocks).
      ``concat``    output channels are the sum of the inputs'.
      ``same``      output channels equal the input's (resampling, attention without projection).
      ``computed``  output channels come from `out_channels(c1, args)`.
      ``detect``    the detection head: `[nc, anchors]`, input channels appended.
      ``backbone``  a multi-output backbone; must be the first layer.
    """

    cls: Callable[..., nn.Module]
    kind: str = "channels"
    out_arg: int = 0
    channel_args: tuple[int, ...] = (0,)
    repeats_inside: bool = False
    out_channels: Callable[[int, list], int] | None = None


def _pool_concat_channels(c1: int, args: list) -> int:
    k = args[0] if args else (5, 9, 13)
    return c1 * (len(k) + 1)


REGISTRY: dict[str, LayerSpec] = {
    "Conv": LayerSpec(Conv),
    "DWConv": LayerSpec(DWConv),
    "CBH": LayerSpec(CBH),
    "conv_bn": LayerSpec(conv_bn),
    "conv_dw": LayerSpec(conv_dw),
    "Bottleneck": LayerSpec(Bottleneck),
    "BottleneckCSP": LayerSpec(BottleneckCSP, repeats_inside=True),
    "BottleneckCSP2": LayerSpec(BottleneckCSP2, repeats_inside=True),
    "C3": LayerSpec(C3, repeats_inside=True),
    "SPP": LayerSpec(SPP),
    "SPPF": LayerSpec(SPPF),
    "SPPCSP": LayerSpec(SPPCSP, repeats_inside=True),
    "SpatialPyramidPooling": LayerSpec(
        SpatialPyramidPooling, kind="computed", out_channels=_pool_concat_channels
    ),
    "mb3Block": LayerSpec(mb3Block, out_arg=1, channel_args=(0, 1)),
    "mb3SE": LayerSpec(mb3SE, kind="same"),
    "MobileNetV2_Block": LayerSpec(MobileNetV2_Block),
    "conv_bn_relu_maxpool": LayerSpec(conv_bn_relu_maxpool),
    "RepVGGBlock": LayerSpec(RepVGGBlock),
    "make_three_conv": LayerSpec(make_three_conv, channel_args=(0, 1)),
    "make_five_conv": LayerSpec(make_five_conv, channel_args=(0, 1)),
    "hswish": LayerSpec(hswish, kind="same"),
    "hsigmoid": LayerSpec(hsigmoid, kind="same"),
    "Concat": LayerSpec(Concat, kind="concat"),
    "nn.Upsample": LayerSpec(nn.Upsample, kind="same"),
    "MobileNetV4ConvSmall": LayerSpec(MobileNetV4ConvSmall, kind="backbone"),
    "MobileNetV4ConvMedium": LayerSpec(MobileNetV4ConvMedium, kind="backbone"),
    "MobileNetV4ConvLarge": LayerSpec(MobileNetV4ConvLarge, kind="backbone"),
    "Detect": LayerSpec(Detect, kind="detect"),
}


def register_module(name: str, spec: LayerSpec) -> None:
    """Make `name` usable in model YAML files."""
    if name in REGISTRY:
        raise ValueError(f"module name {name!r} is already registered")
    REGISTRY[name] = spec
