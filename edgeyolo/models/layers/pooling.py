"""Spatial pyramid pooling variants: YOLOv5 `SPP`/`SPPF`, YOLOv4-CSP `SPPCSP`, seed 001's plain pooling."""

from __future__ import annotations

import torch
from torch import nn

from edgeyolo.models.layers.activations import make_activation
from edgeyolo.models.layers.conv import Conv
from edgeyolo.models.layers.fusion import bn_as_affine, bn_slice, fuse_split_bn
from edgeyolo.models.registry import register_block


def _pool_concat_channels(c1: int, args: list) -> int:
    k = args[0] if args else (5, 9, 13)
    return c1 * (len(k) + 1)


def _pools(k: tuple[int, ...]) -> nn.ModuleList:
    return nn.ModuleList(nn.MaxPool2d(kernel_size=x, stride=1, padding=x // 2) for x in k)


@register_block()
class SPP(nn.Module):
    """YOLOv5 SPP: 1x1 conv, parallel max-pools (5, 9, 13), concat, 1x1 conv."""

    def __init__(self, c1: int, c2: int, k: tuple[int, ...] = (5, 9, 13)) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * (len(k) + 1), c2, 1, 1)
        self.m = _pools(tuple(k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        return self.cv2(torch.cat([x] + [m(x) for m in self.m], 1))


@register_block()
class SPPF(nn.Module):
    """YOLOv5 SPPF: SPP(5, 9, 13) computed as three chained 5x5 pools."""

    def __init__(self, c1: int, c2: int, k: int = 5) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


@register_block(repeats_inside=True)
class SPPCSP(nn.Module):
    """YOLOv4-CSP's CSP spatial pyramid pooling (PyTorch_YOLOv4)."""

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        shortcut: bool = False,
        g: int = 1,
        e: float = 0.5,
        k: tuple[int, ...] = (5, 9, 13),
    ) -> None:
        super().__init__()
        c_ = int(2 * c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = nn.Conv2d(c1, c_, 1, 1, bias=False)
        self.cv3 = Conv(c_, c_, 3, 1)
        self.cv4 = Conv(c_, c_, 1, 1)
        self.m = _pools(tuple(k))
        self.cv5 = Conv(4 * c_, c_, 1, 1)
        self.cv6 = Conv(c_, c_, 3, 1)
        self.bn = nn.BatchNorm2d(2 * c_)
        self.act = make_activation(True)
        self.cv7 = Conv(2 * c_, c2, 1, 1)
        self.y1_affine: nn.Module | None = None  # set by fuse(): the BN's half over the pooling path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.cv4(self.cv3(self.cv1(x)))
        y1 = self.cv6(self.cv5(torch.cat([x1] + [m(x1) for m in self.m], 1)))
        y2 = self.cv2(x)
        if self.bn is None:
            y = torch.cat((self.y1_affine(y1), y2), 1)
        else:
            y = self.bn(torch.cat((y1, y2), 1))
        return self.cv7(self.act(y))

    def fuse(self) -> None:
        if self.bn is None:
            return
        c_ = self.cv2.out_channels
        (self.cv2,) = fuse_split_bn([self.cv2], bn_slice(self.bn, c_, 2 * c_))
        self.y1_affine = bn_as_affine(bn_slice(self.bn, 0, c_))
        self.bn = None


@register_block(kind="computed", out_channels=_pool_concat_channels)
class SpatialPyramidPooling(nn.Module):
    """Seed 001's SPP: max-pools (13, 9, 5) concatenated with the input, no convolutions."""

    def __init__(self, k: tuple[int, ...] = (5, 9, 13)) -> None:
        super().__init__()
        self.m = _pools(tuple(k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(x) for m in self.m[::-1]] + [x], 1)
