"""Activations by name (YAML never goes through `eval`), and the MobileNetV3 hard activations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torch import nn

from edgeyolo.models.registry import register_block


@register_block(kind="same")
class hswish(nn.Module):
    """h-swish, x * relu6(x + 3) / 6. `F.hardswish` is the same function and exports as one ONNX op."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardswish(x)


@register_block(kind="same")
class hsigmoid(nn.Module):
    """h-sigmoid, relu6(x + 3) / 6. `F.hardsigmoid` is the same function and exports as one ONNX op."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardsigmoid(x)


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "SiLU": nn.SiLU,
    "ReLU": nn.ReLU,
    "ReLU6": nn.ReLU6,
    "LeakyReLU": lambda: nn.LeakyReLU(0.1),
    "Mish": nn.Mish,
    "Hardswish": nn.Hardswish,
    "hswish": hswish,
    "hsigmoid": hsigmoid,
    "Sigmoid": nn.Sigmoid,
    "Identity": nn.Identity,
}


_DEFAULT_ACTIVATION: ContextVar[str] = ContextVar("edgeyolo_default_activation", default="SiLU")


@contextmanager
def default_activation(name: str | None) -> Iterator[None]:
    """Within the block, `act=True` means `name` (a model YAML's top-level `activation:` key)."""
    if name is None:
        yield
        return
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    token = _DEFAULT_ACTIVATION.set(name)
    try:
        yield
    finally:
        _DEFAULT_ACTIVATION.reset(token)


def make_activation(act: bool | str | nn.Module | None) -> nn.Module:
    """Resolve an activation given as True (the current default), False/None (none), a name, or a module."""
    if act is True:
        act = _DEFAULT_ACTIVATION.get()
    if act is False or act is None:
        return nn.Identity()
    if isinstance(act, nn.Module):
        return act
    if isinstance(act, str) and act in ACTIVATIONS:
        return ACTIVATIONS[act]()
    raise ValueError(f"unknown activation {act!r}; known: {', '.join(ACTIVATIONS)}")
