"""MobileNetV2/V3 blocks of the design documents: `mb3SE`, `mb3Block` (seed 002), `MobileNetV2_Block`,
`conv_bn_relu_maxpool` and `RepVGGBlock` (seed 004)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgeyolo.models.layers.activations import hsigmoid, hswish, make_activation
from edgeyolo.models.layers.conv import Conv, DWConv
from edgeyolo.models.layers.fusion import fuse_conv_bn
from edgeyolo.models.registry import register_block


@register_block(kind="same")
class mb3SE(nn.Module):
    """Squeeze-excitation: avg-pool, 1x1 reduce, ReLU, 1x1 expand, h-sigmoid, scale. Already lean:
    no BN or reshape, so it exports as GlobalAveragePool, Conv, Relu, Conv, HardSigmoid, Mul."""

    def __init__(self, in_size: int, reduction: int = 4) -> None:
        super().__init__()
        self.se = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_size, in_size // reduction, 1, 1, 0, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_size // reduction, in_size, 1, 1, 0, bias=False),
            hsigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.se(x)


@register_block(out_arg=1, channel_args=(0, 1))
class mb3Block(nn.Module):
    """MobileNetV3 bottleneck of seed 002: 1x1 expand, kxk depthwise, 1x1 project, optional SE on the
    output, and a residual (a 1x1 conv-BN when channels change) for stride 1.

    Args follow the documents: (c1, cexp, c2, k, s, se='S' or None, act='H' h-swish or 'R' ReLU).
    """

    def __init__(self, c1: int, cexp: int, c2: int, k: int = 1, s: int = 1, se=None, act: str = "H") -> None:
        super().__init__()
        self.se = se == "S"
        if self.se:
            self.sem = mb3SE(c2)
        self.stride = s
        self.conv1 = nn.Conv2d(c1, cexp, 1, 1, 0, bias=False)
        self.bn1: nn.Module = nn.BatchNorm2d(cexp)
        self.act1 = hswish() if act == "H" else nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cexp, cexp, k, s, k // 2, groups=cexp, bias=False)
        self.bn2: nn.Module = nn.BatchNorm2d(cexp)
        self.act2 = hswish() if act == "H" else nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(cexp, c2, 1, 1, 0, bias=False)
        self.bn3: nn.Module = nn.BatchNorm2d(c2)
        self.shortcut = nn.Sequential()
        if s == 1 and c1 != c2:
            self.shortcut = nn.Sequential(nn.Conv2d(c1, c2, 1, 1, 0, bias=False), nn.BatchNorm2d(c2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se:
            out = self.sem(out)
        return out + self.shortcut(x) if self.stride == 1 else out

    def fuse(self) -> None:
        for i in (1, 2, 3):
            bn = getattr(self, f"bn{i}")
            if isinstance(bn, nn.BatchNorm2d):
                setattr(self, f"conv{i}", fuse_conv_bn(getattr(self, f"conv{i}"), bn))
                setattr(self, f"bn{i}", nn.Identity())
        if len(self.shortcut) == 2:
            self.shortcut = nn.Sequential(fuse_conv_bn(self.shortcut[0], self.shortcut[1]))


@register_block()
class MobileNetV2_Block(nn.Module):
    """MobileNetV2 inverted residual of seed 004: (c1, c2, stride, expand_ratio[, act]).

    The seed passes act='ReLU' to YOLOv5's Conv, which silently turns a string into no activation;
    here the activation the seed asks for is the one used.
    """

    def __init__(self, c1: int, c2: int, s: int = 1, t: float = 1, act: str = "ReLU") -> None:
        super().__init__()
        if s not in (1, 2):
            raise ValueError(f"MobileNetV2_Block stride must be 1 or 2, got {s}")
        self.stride = s
        self.identity = s == 1 and c1 == c2
        hidden = round(c1 * t)
        layers: list[nn.Module] = []
        if t != 1:
            layers.append(Conv(c1, hidden, 1, 1, 0, act=act))
        layers += [DWConv(hidden, hidden, 3, s, act=act), Conv(hidden, c2, 1, 1, 0, act=False)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.identity else y


@register_block()
class conv_bn_relu_maxpool(nn.Module):
    """ShuffleNet-style stem of seed 004: 3x3/2 conv-BN-ReLU then 3x3/2 max-pool."""

    def __init__(self, c1: int, c2: int) -> None:
        super().__init__()
        self.conv = Conv(c1, c2, k=3, s=2, p=1, act="ReLU")
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool(self.conv(x))


class _ConvBN(nn.Sequential):
    def __init__(self, c1: int, c2: int, k: int, s: int, p: int, g: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, p, groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2)


@register_block()
class RepVGGBlock(nn.Module):
    """RepVGG block (seed 004): 3x3 conv-BN + 1x1 conv-BN (+ identity BN when shapes allow), then ReLU.
    `fuse()` merges the branches into one 3x3 conv with bias."""

    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 1, p: int = 1, g: int = 1) -> None:
        super().__init__()
        if k != 3 or p != 1:
            raise ValueError("RepVGGBlock supports kernel 3 with padding 1 (the 1x1 branch is padded to 3x3)")
        self.in_channels, self.out_channels, self.groups = c1, c2, g
        self.stride = s
        self.nonlinearity = make_activation("ReLU")
        self.rbr_identity = nn.BatchNorm2d(c1) if c2 == c1 and s == 1 else None
        self.rbr_dense = _ConvBN(c1, c2, 3, s, 1, g)
        self.rbr_1x1 = _ConvBN(c1, c2, 1, s, 0, g)
        self.rbr_reparam: nn.Conv2d | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rbr_reparam is not None:
            return self.nonlinearity(self.rbr_reparam(x))
        identity = 0 if self.rbr_identity is None else self.rbr_identity(x)
        return self.nonlinearity(self.rbr_dense(x) + self.rbr_1x1(x) + identity)

    def _identity_kernel(self) -> torch.Tensor:
        in_per_group = self.in_channels // self.groups
        kernel = torch.zeros(self.in_channels, in_per_group, 3, 3, device=self.rbr_dense.conv.weight.device)
        idx = torch.arange(self.in_channels)
        kernel[idx, idx % in_per_group, 1, 1] = 1.0
        return kernel

    def equivalent_kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The single 3x3 kernel and bias equal to the sum of the three branches (eval-mode BN)."""
        dense = fuse_conv_bn(self.rbr_dense.conv, self.rbr_dense.bn)
        one = fuse_conv_bn(self.rbr_1x1.conv, self.rbr_1x1.bn)
        kernel = dense.weight + F.pad(one.weight, [1, 1, 1, 1])
        bias = dense.bias + one.bias
        if self.rbr_identity is not None:
            bn = self.rbr_identity
            std = torch.sqrt(bn.running_var + bn.eps)
            kernel = kernel + self._identity_kernel() * (bn.weight / std).reshape(-1, 1, 1, 1)
            bias = bias + bn.bias - bn.running_mean * bn.weight / std
        return kernel, bias

    def fuse(self) -> None:
        if self.rbr_reparam is not None:
            return
        with torch.no_grad():
            kernel, bias = self.equivalent_kernel_bias()
        conv = nn.Conv2d(
            self.in_channels, self.out_channels, 3, self.stride, 1, groups=self.groups, bias=True
        )
        conv = conv.to(kernel.device).requires_grad_(False)
        conv.weight.copy_(kernel)
        conv.bias.copy_(bias)
        self.rbr_reparam = conv
        del self.rbr_dense, self.rbr_1x1
        self.rbr_identity = None
