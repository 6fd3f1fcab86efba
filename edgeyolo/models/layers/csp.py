"""Residual and CSP blocks of YOLOv5 and YOLOv4 (PyTorch_YOLOv4 `BottleneckCSP2`)."""

from __future__ import annotations

import torch
from torch import nn

from edgeyolo.models.layers.activations import make_activation
from edgeyolo.models.layers.conv import Conv
from edgeyolo.models.layers.fusion import bn_as_affine, bn_slice, fuse_split_bn
from edgeyolo.models.registry import register_block


@register_block()
class Bottleneck(nn.Module):
    """1x1 then 3x3 conv with an optional residual."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, g: int = 1, e: float = 0.5) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_, c2, 3, 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


@register_block(repeats_inside=True)
class BottleneckCSP(nn.Module):
    """CSP bottleneck (YOLOv5/YOLOv4): a BN and activation over the concatenation of two paths."""

    def __init__(
        self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5
    ) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = nn.Conv2d(c1, c_, 1, 1, bias=False)
        self.cv3 = nn.Conv2d(c_, c_, 1, 1, bias=False)
        self.cv4 = Conv(2 * c_, c2, 1, 1)
        self.bn = nn.BatchNorm2d(2 * c_)
        self.act = make_activation(True)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat((self.cv3(self.m(self.cv1(x))), self.cv2(x)), 1)
        return self.cv4(self.act(y if self.bn is None else self.bn(y)))

    def fuse(self) -> None:
        if self.bn is not None:
            self.cv3, self.cv2 = fuse_split_bn([self.cv3, self.cv2], self.bn)
            self.bn = None


@register_block(repeats_inside=True)
class BottleneckCSP2(nn.Module):
    """YOLOv4-CSP's second CSP bottleneck (PyTorch_YOLOv4): hidden width c2, no shortcut by default."""

    def __init__(
        self, c1: int, c2: int, n: int = 1, shortcut: bool = False, g: int = 1, e: float = 0.5
    ) -> None:
        super().__init__()
        c_ = int(c2)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = nn.Conv2d(c_, c_, 1, 1, bias=False)
        self.cv3 = Conv(2 * c_, c2, 1, 1)
        self.bn = nn.BatchNorm2d(2 * c_)
        self.act = make_activation(True)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))
        self.m_affine: nn.Module | None = None  # set by fuse(): the BN's half over the bottleneck path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.cv1(x)
        y1, y2 = self.m(x1), self.cv2(x1)
        if self.bn is None:
            y = torch.cat((self.m_affine(y1), y2), 1)
        else:
            y = self.bn(torch.cat((y1, y2), 1))
        return self.cv3(self.act(y))

    def fuse(self) -> None:
        if self.bn is None:
            return
        c_ = self.cv2.out_channels
        (self.cv2,) = fuse_split_bn([self.cv2], bn_slice(self.bn, c_, 2 * c_))
        # The bottleneck path ends in a Conv whose activation precedes this BN, so its half stays an
        # affine per-channel scale (a 1x1 depthwise conv with bias exports as one node).
        self.m_affine = bn_as_affine(bn_slice(self.bn, 0, c_))
        self.bn = None


@register_block(repeats_inside=True)
class C3(nn.Module):
    """YOLOv5 C3: CSP bottleneck with three convolutions."""

    def __init__(
        self, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1, e: float = 0.5
    ) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))
