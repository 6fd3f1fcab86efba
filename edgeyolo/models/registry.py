"""Registry of the modules a model YAML may name. Names resolve here, never through `eval`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class LayerSpec:
    """How the parser turns a YAML row into a module and its output channels.

    kind:
      ``channels``  args name output channels at `out_arg`; `c1` is prepended, `channel_args` are
                    width-scaled; with `repeats_inside`, `n` goes into the module (CSP blocks).
      ``concat``    output channels are the sum of the inputs'.
      ``same``      output channels equal the input's (resampling, attention without projection).
      ``computed``  output channels come from `out_channels(c1, args)`.
      ``detect``    the detection head: `[nc, anchors]`, input channels appended.
      ``backbone``  a multi-output backbone; must be the first layer.
    """

    cls: Callable[..., nn.Module]
    kind: str = "channels"
    out_arg: int = 0
    channel_args: tuple[int, ...] = (0,)
    repeats_inside: bool = False
    out_channels: Callable[[int, list], int] | None = None


# name -> how to build it. Blocks register themselves where they are defined (`@register_block`);
# importing `edgeyolo.models.blocks` loads them all.
REGISTRY: dict[str, LayerSpec] = {"nn.Upsample": LayerSpec(nn.Upsample, kind="same")}


def register_block(name: str | None = None, **spec) -> Callable:
    """Class decorator: make a block usable in model YAML under `name` (default: the class name)."""

    def add(cls):
        register_module(name or cls.__name__, LayerSpec(cls, **spec))
        return cls

    return add


def register_module(name: str, spec: LayerSpec) -> None:
    """Make `name` usable in model YAML files."""
    if name in REGISTRY:
        raise ValueError(f"module name {name!r} is already registered")
    REGISTRY[name] = spec
