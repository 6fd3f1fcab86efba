"""`fuse_model`: fold every BatchNorm and reparameterise every block for inference, in place."""

from __future__ import annotations

import torch
from torch import nn

from edgeyolo.errors import FailedError


class FuseError(FailedError, RuntimeError):
    """A block in the model cannot be folded for inference."""


def fuse_model(model: nn.Module) -> nn.Module:
    """Put `model` in eval mode and call `fuse()` on every block that owns one (Conv+BN folding, RepVGG
    branch merging, CSP BatchNorms). Children are fused before parents, so each block sees its
    sub-blocks already fused. The result computes the same function (up to float rounding)."""
    model.eval()
    for module in _post_order(model):
        fuse = getattr(module, "fuse", None)
        if callable(fuse) and not getattr(module, "fuse_walks_children", False):
            fuse()
    leftover = [name for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if leftover:
        raise FuseError(f"BatchNorm left after fusion (no block folds it): {', '.join(leftover[:5])}")
    return model


def _post_order(module: nn.Module) -> list[nn.Module]:
    out: list[nn.Module] = []
    for child in list(module.children()):
        out.extend(_post_order(child))
    out.append(module)
    return out


@torch.no_grad()
def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters (for fusion tests and demos:
    a freshly built model's BN is the identity, which would make folding trivially correct)."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=gen) * 0.8 + 0.4)
            m.weight.copy_(torch.rand(c, generator=gen) * 0.8 + 0.6)
            m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
    return model
