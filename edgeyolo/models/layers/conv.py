"""Convolution blocks: YOLOv5 `Conv`/`DWConv`, MobileNetV3 `CBH`, MobileNetV1 `conv_bn`/`conv_dw`."""

from __future__ import annotations

import math

import torch
from torch import nn

from edgeyolo.models.layers.activations import hswish, make_activation
from edgeyolo.models.layers.fusion import fuse_conv_bn
from edgeyolo.models.registry import register_block


def autopad(k: int, p: int | None = None, d: int = 1) -> int:
    """'Same' padding for an odd kernel."""
    if d > 1:
        k = d * (k - 1) + 1
    return k // 2 if p is None else p


class ConvBNAct(nn.Module):
    """conv → BN → activation, the unit every block here is built from. `fuse()` folds the BN."""

    def __init__(
        self,
        c1: int,
        c2: int,
        k: int = 1,
        s: int = 1,
        p: int | None = None,
        g: int = 1,
        d: int = 1,
        act: bool | str | nn.Module | None = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bn is None:
            return self.act(self.conv(x))
        return self.act(self.bn(self.conv(x)))

    def fuse(self) -> None:
        if self.bn is not None:
            self.conv = fuse_conv_bn(self.conv, self.bn)
            self.bn = None


@register_block()
class Conv(ConvBNAct):
    """YOLOv5 Conv: conv-BN-SiLU; `act` selects another activation (name, module, or False for none)."""


@register_block()
class DWConv(Conv):
    """Depthwise convolution (groups = gcd(c1, c2)), as in YOLOv5."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, d: int = 1, act=True) -> None:
        super().__init__(c1, c2, k, s, g=math.gcd(c1, c2), d=d, act=act)


@register_block()
class CBH(ConvBNAct):
    """Conv-BN-hswish (seed 002)."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1) -> None:
        super().__init__(c1, c2, k, s, act=hswish())


@register_block()
class conv_bn(ConvBNAct):
    """MobileNetV1 stem: 3x3 conv-BN-ReLU6 (seed 001)."""

    def __init__(self, c1: int, c2: int, s: int = 1) -> None:
        super().__init__(c1, c2, 3, s, act="ReLU6")


@register_block()
class conv_dw(nn.Module):
    """MobileNetV1 depthwise-separable block: 3x3 dw conv-BN-ReLU6 then 1x1 conv-BN-ReLU6 (seed 001)."""

    def __init__(self, c1: int, c2: int, s: int = 1) -> None:
        super().__init__()
        self.dw = ConvBNAct(c1, c1, 3, s, g=c1, act="ReLU6")
        self.pw = ConvBNAct(c1, c2, 1, 1, act="ReLU6")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))
