"""Per-module facts a model YAML cannot say (BatchNorm eps/momentum, an activation that differs from what
the YAML builds), carried in the native checkpoint's `meta["overrides"]` so a re-loaded import is exact."""

from __future__ import annotations

from typing import Any

from torch import nn

from edgeyolo.models.layers.activations import ACTIVATIONS

BN_DEFAULT = (1e-5, 0.1)  # what edgeyolo builds


def activation_spec(module: nn.Module) -> str | None:
    """`"SiLU"`, `"LeakyReLU:0.1"`, ... for an activation module; None for anything else."""
    name = type(module).__name__
    if name == "LeakyReLU":
        return f"LeakyReLU:{module.negative_slope}"
    return name if name in ACTIVATIONS else None


def make_activation_spec(spec: str) -> nn.Module:
    name, _, arg = spec.partition(":")
    if name == "LeakyReLU":
        return nn.LeakyReLU(float(arg or 0.01))
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {spec!r}")
    return ACTIVATIONS[name]()


def apply_overrides(model: nn.Module, overrides: dict[str, Any] | None) -> None:
    """Set BatchNorm eps/momentum and replace activations by module path, and remember them on the model
    (so `save_checkpoint` writes them again)."""
    if not overrides:
        return
    for path, (eps, momentum) in (overrides.get("bn") or {}).items():
        bn = model.get_submodule(path)
        if not isinstance(bn, nn.BatchNorm2d):
            raise ValueError(f"override for {path}: not a BatchNorm2d")
        bn.eps, bn.momentum = float(eps), None if momentum is None else float(momentum)
    for path, spec in (overrides.get("act") or {}).items():
        parent, _, name = path.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        if activation_spec(getattr(owner, name)) is None:
            raise ValueError(f"override for {path}: not an activation")
        setattr(owner, name, make_activation_spec(spec))
    model.act_overrides = dict(overrides.get("act") or {})


def current_overrides(model: nn.Module) -> dict[str, Any]:
    """The overrides a model carries: every BatchNorm not at edgeyolo's defaults, and replaced activations."""
    bn = {
        name: [m.eps, m.momentum]
        for name, m in model.named_modules()
        if isinstance(m, nn.BatchNorm2d) and (m.eps, m.momentum) != BN_DEFAULT
    }
    act = dict(getattr(model, "act_overrides", {}) or {})
    return {k: v for k, v in (("bn", bn), ("act", act)) if v}
