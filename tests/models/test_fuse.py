"""Fusion computes the same function, leaves no BatchNorm, and reparameterises RepVGG blocks."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from edgeyolo.config import available_configs
from edgeyolo.models.fuse import fuse_model, randomize_batchnorm
from edgeyolo.models.layers.mobilenet import RepVGGBlock, conv_bn_relu_maxpool, mb3Block
from edgeyolo.models.yolo import create_model


def assert_same(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-4) -> None:
    scale = max(1.0, a.abs().max().item())
    assert (a - b).abs().max().item() <= rel * scale


@pytest.mark.parametrize("name", available_configs())
def test_fused_model_matches_unfused(name: str) -> None:
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model(name, nc=3), seed=1).eval()
    fused = fuse_model(copy.deepcopy(model))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert sum(p.numel() for p in fused.parameters()) < sum(p.numel() for p in model.parameters())
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        assert_same(model(x), fused(x))


def test_randomized_bn_makes_the_check_meaningful() -> None:
    # Without randomised statistics BN is the identity and folding would be trivially right.
    model = randomize_batchnorm(create_model("yolov4-lite-mobilenetv3", nc=2)).eval()
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert bn.running_var.min() > 0.3 and bn.running_mean.abs().max() > 0


@pytest.mark.parametrize(("c1", "c2", "s"), [(16, 16, 1), (16, 32, 1), (16, 32, 2), (8, 8, 2)])
def test_repvgg_merges_into_one_conv(c1: int, c2: int, s: int) -> None:
    torch.manual_seed(0)
    block = randomize_batchnorm(RepVGGBlock(c1, c2, s=s)).eval()
    x = torch.randn(2, c1, 20, 20)
    with torch.no_grad():
        before = block(x)
        block.fuse()
        after = block(x)
    assert isinstance(block.rbr_reparam, nn.Conv2d) and block.rbr_reparam.kernel_size == (3, 3)
    assert [type(m) for m in block.children()] == [nn.ReLU, nn.Conv2d]
    assert_same(before, after, 1e-5)


def test_seed_004_stem_and_mb3_shortcut_fuse() -> None:
    torch.manual_seed(0)
    for block, c1 in [(conv_bn_relu_maxpool(3, 16), 3), (mb3Block(16, 48, 24, 3, 1, "S", "H"), 16)]:
        block = randomize_batchnorm(block).eval()
        x = torch.randn(1, c1, 32, 32)
        with torch.no_grad():
            before = block(x)
            fuse_model(block)
            after = block(x)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in block.modules())
        assert_same(before, after, 1e-5)


def test_fuse_refuses_to_leave_batchnorm_behind() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with pytest.raises(RuntimeError, match="BatchNorm left after fusion"):
        fuse_model(model)
