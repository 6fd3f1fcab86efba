"""YOLOv5-style YAML → layers. Each row is `[from, number, module, args]`; errors name the YAML line."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch import nn

from edgeyolo.config import ModelConfig, ModelConfigError
from edgeyolo.models.blocks import REGISTRY
from edgeyolo.models.layers.activations import ACTIVATIONS, default_activation
from edgeyolo.models.registry import LayerSpec

# A multi-output backbone's feature maps occupy this many leading layer indices (seed 003's layout:
# index 0 is a placeholder, 1..4 are the stride 4/8/16/32 maps, the backbone itself is index 4).
BACKBONE_SLOTS = 5

# Size limits checked before any weight is allocated (see `check_model_size`): well above the largest
# YOLO in common use (YOLOv5x, 86.7 M parameters), far below what would exhaust a workstation's memory.
MAX_PARAMETERS = 100_000_000  # 400 MB of float32 weights
MAX_REPEATS = 100  # modules one YAML row may stack after depth scaling


@dataclass
class LayerRow:
    """One built layer, for the summary table."""

    index: int
    source: int | list[int]
    number: int
    params: int
    module: str
    args: list[Any]
    where: str


def make_divisible(x: float, divisor: int = 8) -> int:
    """Round channels up to a multiple of `divisor` (YOLOv5 width scaling)."""
    return int(math.ceil(x / divisor) * divisor)


def _resolve_arg(value: Any, symbols: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value in symbols:
            return symbols[value]
        if value == "None":
            return None
    return value


def _multiple(data: dict[str, Any], key: str, source: str) -> float:
    value = data.get(key, 1.0)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise ModelConfigError(f"{source}: {key!r} must be a finite number > 0, got {value!r}")
    return float(value)


def _scale_depth(n: int, gd: float) -> int:
    return max(round(n * gd), 1) if n > 1 else n


def parse_model(cfg: ModelConfig, ch_in: int = 3) -> tuple[nn.Sequential, list[int], list[LayerRow]]:
    """Build the layer list. Returns (layers, indices whose outputs later layers read, summary rows)."""
    d = cfg.data
    nc, anchors = d.get("nc"), d.get("anchors")
    gd = _multiple(d, "depth_multiple", cfg.source)
    gw = _multiple(d, "width_multiple", cfg.source)
    if not isinstance(nc, int) or isinstance(nc, bool) or nc < 1:
        raise ModelConfigError(f"{cfg.source}: 'nc' must be a positive integer, got {nc!r}")
    symbols = {"nc": nc, "anchors": anchors}

    layers: list[nn.Module] = []
    rows: list[LayerRow] = []
    save: set[int] = set()
    channels: list[int] = []  # output channels by layer index (0 marks a placeholder)
    total = 0
    activation = d.get("activation")
    if activation is not None and activation not in ACTIVATIONS:
        known = ", ".join(ACTIVATIONS)
        raise ModelConfigError(f"{cfg.source}: unknown activation {activation!r}; known: {known}")
    with default_activation(activation):
        for section, pos, row in cfg.rows():
            where = cfg.where(section, pos)
            idx = len(channels)
            try:
                module, c2, f, n, args, name = _build_row(row, idx, channels, ch_in, gd, gw, symbols)
            except ModelConfigError as exc:
                raise ModelConfigError(f"{where}: {exc}") from None
            except (TypeError, ValueError, IndexError, KeyError, OverflowError, RuntimeError) as exc:
                # the first line only: torch appends its C++ stack to some messages
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ModelConfigError(f"{where}: cannot build {row!r}: {reason}") from exc
            if isinstance(c2, list):  # multi-output backbone
                channels = [0] * (BACKBONE_SLOTS - len(c2)) + list(c2)
                idx = len(channels) - 1
            else:
                channels.append(c2)
            params = sum(p.numel() for p in module.parameters())
            total += params
            if total > MAX_PARAMETERS:
                raise ModelConfigError(
                    f"{where}: the model grows past {total:,} parameters by this layer; edgeyolo refuses "
                    f"models above {MAX_PARAMETERS:,} (check nc, width_multiple, depth_multiple and 'number')"
                )
            module.i, module.f, module.type, module.np, module.where = idx, f, name, params, where
            save.update(x % idx for x in ([f] if isinstance(f, int) else f) if x != -1)
            layers.append(module)
            rows.append(LayerRow(idx, f, n, params, name, args, where))
    if not isinstance(layers[-1], REGISTRY["Detect"].cls):
        raise ModelConfigError(f"{cfg.source}: the last layer must be Detect")
    return nn.Sequential(*layers), sorted(save), rows


def check_model_size(cfg: ModelConfig, ch_in: int = 3) -> int:
    """Build the layers on the meta device (no memory allocated) and return the parameter count;
    raises ModelConfigError naming the row where the model passes MAX_PARAMETERS or MAX_REPEATS."""
    import torch

    with torch.device("meta"):
        layers, _, _ = parse_model(cfg, ch_in)
    return sum(p.numel() for p in layers.parameters())


def _input_channels(f: int | list[int], idx: int, channels: list[int], ch_in: int) -> list[int]:
    out = []
    for j in [f] if isinstance(f, int) else f:
        if not isinstance(j, int):
            raise ModelConfigError(f"'from' entries must be integers, got {j!r}")
        if j == -1 and idx == 0:
            out.append(ch_in)
            continue
        k = idx + j if j < 0 else j
        if not 0 <= k < idx:
            raise ModelConfigError(f"'from' index {j} does not name an earlier layer (this is layer {idx})")
        if channels[k] == 0:
            raise ModelConfigError(f"'from' index {j} is a placeholder slot of the multi-output backbone")
        out.append(channels[k])
    return out


def _build_row(
    row: Any,
    idx: int,
    channels: list[int],
    ch_in: int,
    gd: float,
    gw: float,
    symbols: dict[str, Any],
) -> tuple[nn.Module, int | list[int], int | list[int], int, list[Any], str]:
    if not isinstance(row, list) or len(row) != 4:
        raise ModelConfigError(f"a layer row must be [from, number, module, args], got {row!r}")
    f, n, name, args = row
    if isinstance(f, list) and len(f) == 1:
        f = f[0]
    if not isinstance(n, int) or n < 1:
        raise ModelConfigError(f"'number' must be a positive integer, got {n!r}")
    if not isinstance(name, str) or name not in REGISTRY:
        raise ModelConfigError(f"unknown module {name!r}; known modules: {', '.join(sorted(REGISTRY))}")
    if not isinstance(args, list):
        raise ModelConfigError(f"'args' must be a list, got {args!r}")
    spec: LayerSpec = REGISTRY[name]
    args = [_resolve_arg(a, symbols) for a in args]
    c_in = _input_channels(f, idx, channels, ch_in)
    n = _scale_depth(n, gd)
    if n > MAX_REPEATS:
        raise ModelConfigError(
            f"'number' {row[1]} x depth_multiple {gd:g} stacks {n} modules; at most {MAX_REPEATS} per row"
        )

    if spec.kind == "backbone":
        if idx != 0 or f != -1:
            raise ModelConfigError(f"{name} is a multi-output backbone and must be the first layer")
        module = spec.cls(c_in[0], *args)
        return module, list(module.out_channels), f, n, args, name
    if spec.kind == "detect":
        if not isinstance(f, list):
            raise ModelConfigError("Detect takes a list of input layers")
        if len(args) < 2 or not isinstance(args[1], list):
            raise ModelConfigError("Detect args must be [nc, anchors] with anchors a list of levels")
        args = [args[0], args[1], c_in]
        return spec.cls(*args), 0, f, n, args, name
    if spec.kind == "concat":
        if not isinstance(f, list):
            raise ModelConfigError("Concat takes a list of input layers")
        return spec.cls(*args), sum(c_in), f, n, args, name
    if len(c_in) != 1:
        raise ModelConfigError(f"{name} takes one input layer, got {f!r}")
    c1 = c_in[0]
    if spec.kind == "same":
        return _stack(spec.cls, args, args, n), c1, f, n, args, name
    if spec.kind == "computed":
        module = _stack(spec.cls, args, args, n)
        c2 = spec.out_channels(c1, args) if n == 1 else _repeat_channels(spec, c1, args, n)
        return module, c2, f, n, args, name

    # kind == "channels"
    args = list(args)
    for a in spec.channel_args:
        if a >= len(args) or not isinstance(args[a], int):
            raise ModelConfigError(f"{name} arg {a} must be a channel count, got {args!r}")
        if gw != 1.0:
            args[a] = make_divisible(args[a] * gw, 8)
    c2 = args[spec.out_arg]
    first, rest = [c1, *args], [c2, *args]
    if spec.repeats_inside:
        first.insert(2, n)
        return spec.cls(*first), c2, f, n, first, name
    return _stack(spec.cls, first, rest, n), c2, f, n, first, name


def _stack(cls, first: list[Any], rest: list[Any], n: int) -> nn.Module:
    if n == 1:
        return cls(*first)
    return nn.Sequential(cls(*first), *(cls(*rest) for _ in range(n - 1)))


def _repeat_channels(spec: LayerSpec, c1: int, args: list[Any], n: int) -> int:
    c = c1
    for _ in range(n):
        c = spec.out_channels(c, args)
    return c
