"""YOLOv5 checkpoints (ultralytics/yolov5 forks, e.g. design document 004's MobileNetV2 backbone).

Two inputs: the pickled `best.pt`/`last.pt` that YOLOv5's train.py writes (a `models.yolo.DetectionModel`
tree, read through inert placeholders), or a plain `state_dict` plus the YOLOv5 model YAML. Both become the
same thing: edgeyolo YAML text in which YOLOv5's width/depth scaling has already been applied the way
YOLOv5's `parse_model` applies it, the state_dict in edgeyolo's layout, and the per-module overrides the
YAML cannot say.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import yaml
from torch import nn

from edgeyolo.config import ModelConfigError, parse_config_text
from edgeyolo.models.blocks import REGISTRY
from edgeyolo.models.checkpoint import CheckpointError
from edgeyolo.models.foreign.overrides import BN_DEFAULT, activation_spec
from edgeyolo.models.foreign.safe_pickle import Placeholder, iter_modules, module_tree_state
from edgeyolo.models.yolo import DetectionModel

FORMAT = "YOLOv5"
# Module classes of YOLOv5's models/common.py and models/yolo.py (and document 004's additions) that
# edgeyolo builds with the same state_dict layout.
COMMON = (
    "Conv",
    "DWConv",
    "Bottleneck",
    "BottleneckCSP",
    "C3",
    "SPP",
    "SPPF",
    "Concat",
    "MobileNetV2_Block",
    "conv_bn_relu_maxpool",
    "RepVGGBlock",
)
CLASSES = {f"models.common.{n}" for n in COMMON} | {
    "models.yolo.DetectionModel",
    "models.yolo.Model",
    "models.yolo.Detect",
}
# parse_model's set of modules whose first arg is an output width (document 004 adds its two blocks).
CHANNEL_MODULES = {"Conv", "DWConv", "Bottleneck", "BottleneckCSP", "C3", "SPP", "SPPF"} | {
    "MobileNetV2_Block",
    "conv_bn_relu_maxpool",
}
# Document 004's blocks pass act='ReLU' (a string); YOLOv5's Conv turns anything but True or a module
# into nn.Identity, so these blocks have no activation at all.
STRING_ACT_BLOCKS = {"MobileNetV2_Block", "conv_bn_relu_maxpool"}
YOLOV5_BN = (1e-3, 0.03)  # utils/torch_utils.initialize_weights sets these on every BatchNorm2d


@dataclass
class Converted:
    """A foreign model in edgeyolo's terms."""

    cfg_text: str
    state_dict: dict[str, torch.Tensor]
    names: list[str]
    imgsz: int | None
    overrides: dict[str, Any]
    adapted: list[str] = field(default_factory=list)


def scaled_yaml(data: dict[str, Any], source: str) -> tuple[dict[str, Any], list[str]]:
    """The YOLOv5 YAML with depth and width scaling applied exactly as YOLOv5's `parse_model` does (including
    its quirk of not scaling a channel argument equal to na*(nc+5)), as an edgeyolo YAML at 1.0/1.0."""
    d = copy.deepcopy(data)
    notes: list[str] = []
    nc, anchors = d.get("nc"), d.get("anchors")
    gd, gw = float(d.get("depth_multiple", 1.0)), float(d.get("width_multiple", 1.0))
    ch_mul = int(d.get("channel_multiple") or 8)
    if not isinstance(nc, int) or not isinstance(anchors, list):
        raise CheckpointError(f"{source}: the YOLOv5 model YAML has no usable 'nc'/'anchors'")
    na = len(anchors[0]) // 2
    no = na * (nc + 5)
    kept = []
    for section in ("backbone", "head"):
        rows = d.get(section) or []
        for row in rows:
            if not (isinstance(row, list) and len(row) == 4):
                raise CheckpointError(f"{source}: YAML row {row!r} is not [from, number, module, args]")
            _, n, m, args = row
            if m not in REGISTRY:
                raise CheckpointError(f"{source}: {FORMAT} module {m!r} has no edgeyolo equivalent")
            if isinstance(n, int) and n > 1:
                row[1] = max(round(n * gd), 1)
            if m in CHANNEL_MODULES and args and isinstance(args[0], int):
                if args[0] == no:
                    kept.append(f"{m} {args[0]}")
                else:
                    args[0] = int(math.ceil(args[0] * gw / ch_mul) * ch_mul)
    d["depth_multiple"], d["width_multiple"] = 1.0, 1.0
    d.pop("channel_multiple", None)
    if kept:
        notes.append(
            f"channel argument(s) equal to na*(nc+5)={no} left unscaled, as YOLOv5's parse_model does "
            f"({', '.join(kept)})"
        )
    return d, notes


def yolov5_activation(value: Any) -> str | None:
    """YOLOv5's optional top-level `activation: nn.LeakyReLU(0.1)` as an edgeyolo name (no eval)."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(?:nn\.)?(\w+)\(\s*([0-9.eE+-]*)\s*(?:,.*)?\)\s*", str(value))
    if not match:
        raise CheckpointError(f"{FORMAT} activation {value!r} is not understood")
    return match.group(1)


def dump_yaml(d: dict[str, Any], header: str) -> str:
    keys = ("nc", "depth_multiple", "width_multiple", "anchors", "activation", "decode")
    body = {k: d[k] for k in keys if k in d}
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=None)
    for section in ("backbone", "head"):
        text += f"{section}:\n" + "".join(
            f"  - {yaml.safe_dump(row, default_flow_style=True).strip()}\n" for row in d.get(section) or []
        )
    return f"# {header}\n" + text


def build(cfg_text: str, source: str) -> DetectionModel:
    try:
        return DetectionModel(parse_config_text(cfg_text, source)).eval()
    except ModelConfigError as exc:
        raise CheckpointError(f"{source}: the rebuilt model does not build: {exc}") from exc


def names_list(names: Any, nc: int) -> list[str]:
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if isinstance(names, (list, tuple)) and len(names) == nc:
        return [str(n) for n in names]
    return [str(i) for i in range(nc)]


def from_pickle(ckpt: dict[str, Any], source: str) -> Converted:
    """A YOLOv5 train.py checkpoint: `ema` when present (as YOLOv5 loads it), else `model`."""
    adapted = []
    root = ckpt.get("ema") if isinstance(ckpt.get("ema"), Placeholder) else ckpt.get("model")
    if not isinstance(root, Placeholder) or root.short_name not in ("DetectionModel", "Model"):
        raise CheckpointError(f"{source}: a {FORMAT} checkpoint without a model under 'ema' or 'model'")
    adapted.append("weights from 'ema'" if root is ckpt.get("ema") else "weights from 'model'")
    attrs = root.attrs
    data = attrs.get("yaml")
    if not isinstance(data, dict):
        raise CheckpointError(f"{source}: the {FORMAT} model holds no 'yaml' dict to rebuild it from")
    state = module_tree_state(root)
    detect_path, detect = _detect(root, source)
    stride = detect.attrs.get("stride")
    if not isinstance(stride, torch.Tensor):
        raise CheckpointError(f"{source}: the {FORMAT} Detect layer holds no stride")
    opt = ckpt.get("opt") if isinstance(ckpt.get("opt"), dict) else {}
    imgsz = opt.get("imgsz") or opt.get("img_size")
    if isinstance(imgsz, (list, tuple)):
        imgsz = max(int(v) for v in imgsz)
    conv = _convert(data, state, detect_path, stride.float(), source, attrs.get("names"), adapted)
    conv.imgsz = int(imgsz) if isinstance(imgsz, (int, float)) and imgsz > 0 else None
    model = build(conv.cfg_text, source)
    conv.overrides = tree_overrides(root, model, conv.adapted)
    return conv


def from_state_dict(state: dict[str, torch.Tensor], cfg_text: str, source: str) -> Converted:
    """A plain YOLOv5 state_dict and its model YAML (`--cfg`). Without the pickled modules, BatchNorm and
    activations are what YOLOv5 builds for that YAML."""
    data = yaml.safe_load(cfg_text)
    if not isinstance(data, dict):
        raise CheckpointError(f"{source}: --cfg is not a YOLOv5 model YAML")
    detect_keys = [k for k in state if re.fullmatch(r"model\.\d+\.anchors", k)]
    if len(detect_keys) != 1:
        raise CheckpointError(f"{source}: a state_dict without one 'model.N.anchors' (not a {FORMAT} layout)")
    detect_path = detect_keys[0].rsplit(".", 1)[0]
    adapted: list[str] = []
    probe_cfg, _ = scaled_yaml(data, source)
    probe_cfg["activation"] = yolov5_activation(data.get("activation"))
    if probe_cfg["activation"] is None:
        probe_cfg.pop("activation")
    stride = build(dump_yaml(probe_cfg, "probe"), source).head.stride.clone()
    conv = _convert(data, state, detect_path, stride, source, None, adapted)
    model = build(conv.cfg_text, source)
    conv.overrides = _rule_overrides(model, conv.adapted)
    return conv


def _detect(root: Placeholder, source: str) -> tuple[str, Placeholder]:
    for path, mod in iter_modules(root):
        if mod.short_name == "Detect":
            return path.rstrip("."), mod
    raise CheckpointError(f"{source}: the {FORMAT} model has no Detect layer")


def _convert(
    data: dict[str, Any],
    state: dict[str, torch.Tensor],
    detect_path: str,
    stride: torch.Tensor,
    source: str,
    names: Any,
    adapted: list[str],
) -> Converted:
    d, notes = scaled_yaml(data, source)
    adapted += notes
    act = yolov5_activation(data.get("activation"))
    d.pop("activation", None)
    if act is not None:
        d["activation"] = act
    sd: dict[str, torch.Tensor] = {}
    half = False
    for k, v in state.items():
        if v.is_floating_point():
            half |= v.dtype == torch.float16
            v = v.float()
        sd[k] = v.contiguous()
    if half:
        adapted.append("fp16 weights converted to fp32")
    grid = sd.get(f"{detect_path}.anchors")
    if grid is None or grid.dim() != 3 or grid.shape[0] != len(stride):
        raise CheckpointError(f"{source}: {detect_path}.anchors does not fit {len(stride)} detection levels")
    pixels = grid * stride.view(-1, 1, 1)
    sd[f"{detect_path}.anchors"] = pixels
    sd[f"{detect_path}.stride"] = stride.clone()
    d["anchors"] = [[round(float(v), 6) for v in level.flatten().tolist()] for level in pixels]
    adapted.append(f"anchors from grid units to pixels (strides {[int(s) for s in stride.tolist()]})")
    header = f"imported from a {FORMAT} checkpoint ({source}); scaling already applied"
    return Converted(dump_yaml(d, header), sd, names_list(names, int(d["nc"])), None, {}, adapted)


def tree_overrides(
    root: Placeholder, model: nn.Module, adapted: list[str], rename: Callable[[str], str] = str
) -> dict[str, Any]:
    """Compare the pickled modules with what edgeyolo built from the YAML, path by path (`rename` maps a
    pickled module path to edgeyolo's)."""
    ours = dict(model.named_modules())
    bn: dict[str, list[float]] = {}
    act: dict[str, str] = {}
    for prefix, mod in iter_modules(root):
        path = rename(prefix.rstrip("."))
        mine = ours.get(path)
        if mine is None:
            continue
        a = mod.attrs
        if mod.short_name == "BatchNorm2d" and isinstance(mine, nn.BatchNorm2d):
            momentum = a.get("momentum", 0.1)  # None (cumulative average) is a valid setting
            pair = [float(a.get("eps", 1e-5)), None if momentum is None else float(momentum)]
            if tuple(pair) != BN_DEFAULT:
                bn[path] = pair
        theirs = _placeholder_activation(mod)
        if theirs is not None and activation_spec(mine) not in (None, theirs):
            act[path] = theirs
    _note_overrides(bn, act, adapted, "as pickled")
    return {k: v for k, v in (("bn", bn), ("act", act)) if v}


def _placeholder_activation(mod: Placeholder) -> str | None:
    name = mod.short_name
    if name == "LeakyReLU":
        return f"LeakyReLU:{mod.attrs.get('negative_slope', 0.01)}"
    if mod.qualified_name in CUSTOM_ACTIVATIONS:
        return CUSTOM_ACTIVATIONS[mod.qualified_name]
    return name if mod.qualified_name.startswith("torch.nn.modules.") and name in _ACT_NAMES else None


_ACT_NAMES = {"SiLU", "ReLU", "ReLU6", "Hardswish", "Hardsigmoid", "Mish", "Sigmoid", "Identity"}
# Activation classes the training code defines itself (PyTorch_YOLOv4's Mish, document 002's h-swish).
CUSTOM_ACTIVATIONS = {
    "models.common.Mish": "Mish",
    "models.common.hswish": "hswish",
    "models.common.hsigmoid": "hsigmoid",
}


def _rule_overrides(model: DetectionModel, adapted: list[str]) -> dict[str, Any]:
    bn = {name: list(YOLOV5_BN) for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    act: dict[str, str] = {}
    for layer in model.model:
        if getattr(layer, "type", None) in STRING_ACT_BLOCKS:
            for name, m in layer.named_modules():
                if name.endswith("act") and activation_spec(m) not in (None, "Identity"):
                    act[f"model.{layer.i}.{name}"] = "Identity"
    _note_overrides(bn, act, adapted, "as YOLOv5 builds them (a state_dict does not record them)")
    return {"bn": bn, "act": act} if act else {"bn": bn}


def _note_overrides(bn: dict, act: dict, adapted: list[str], how: str) -> None:
    if bn:
        pairs = sorted({tuple(v) for v in bn.values()})
        values = ", ".join(f"{e:g}/{m:g}" for e, m in pairs)
        adapted.append(f"BatchNorm eps/momentum {values} on {len(bn)} layers {how}")
    if act:
        kinds = sorted(set(act.values()))
        adapted.append(f"{len(act)} activations differ from the YAML's defaults ({', '.join(kinds)}) {how}")
