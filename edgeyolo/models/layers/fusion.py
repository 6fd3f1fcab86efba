"""BatchNorm folding helpers shared by every block's `fuse()`."""

from __future__ import annotations

import torch
from torch import nn


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """Fold an eval-mode BatchNorm into the preceding convolution; returns a new conv with bias."""
    fused = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
    ).to(conv.weight.device)
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
    return fused.requires_grad_(False)


def bn_slice(bn: nn.BatchNorm2d, start: int, end: int) -> nn.BatchNorm2d:
    """Channels [start, end) of a BatchNorm as a BatchNorm of their own (eval mode)."""
    part = nn.BatchNorm2d(end - start, eps=bn.eps).to(bn.weight.device).eval()
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(part, name).copy_(getattr(bn, name)[start:end])
    return part


def fuse_split_bn(convs: list[nn.Conv2d], bn: nn.BatchNorm2d) -> list[nn.Conv2d]:
    """Fold a BN applied to `cat(conv_0(.), conv_1(.), ...)` into each conv's slice of channels."""
    fused, start = [], 0
    for conv in convs:
        end = start + conv.out_channels
        fused.append(fuse_conv_bn(conv, bn_slice(bn, start, end)))
        start = end
    return fused


def bn_as_affine(bn: nn.BatchNorm2d) -> nn.Conv2d:
    """An eval-mode BN that follows no conv, as a depthwise 1x1 conv with bias (one ONNX node)."""
    c = bn.num_features
    conv = nn.Conv2d(c, c, 1, groups=c, bias=True).to(bn.weight.device)
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        conv.weight.copy_(scale.reshape(c, 1, 1, 1))
        conv.bias.copy_(bn.bias - bn.running_mean * scale)
    return conv.requires_grad_(False)
