"""Wiring modules: `Concat` and seed 001's depthwise PANet convolution stacks."""

from __future__ import annotations

import torch
from torch import nn

from edgeyolo.models.layers.conv import ConvBNAct, conv_dw
from edgeyolo.models.registry import register_block


@register_block(kind="concat")
class Concat(nn.Module):
    """Concatenate a list of tensors along a dimension."""

    def __init__(self, dimension: int = 1) -> None:
        super().__init__()
        self.d = dimension

    def forward(self, x: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(x, self.d)


def _conv1x1(c1: int, c2: int) -> ConvBNAct:
    return ConvBNAct(c1, c2, 1, 1, act="ReLU6")


@register_block(channel_args=(0, 1))
class make_three_conv(nn.Sequential):
    """1x1 → depthwise-separable 3x3 → 1x1 (seed 001): channels (c1 → c2 → c_mid → c2)."""

    def __init__(self, c1: int, c2: int, c_mid: int) -> None:
        super().__init__(_conv1x1(c1, c2), conv_dw(c2, c_mid), _conv1x1(c_mid, c2))


@register_block(channel_args=(0, 1))
class make_five_conv(nn.Sequential):
    """1x1, dw-separable, 1x1, dw-separable, 1x1 (seed 001): channels c1 → c2, alternating with c_mid."""

    def __init__(self, c1: int, c2: int, c_mid: int) -> None:
        super().__init__(
            _conv1x1(c1, c2),
            conv_dw(c2, c_mid),
            _conv1x1(c_mid, c2),
            conv_dw(c2, c_mid),
            _conv1x1(c_mid, c2),
        )
