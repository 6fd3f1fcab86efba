"""PyTorch_YOLOv4 checkpoints (WongKinYiu/PyTorch_YOLOv4, YAML branches `u5_preview`/`u5_mish_preview`,
with design document 002's `CBH`/`mb3Block` MobileNetV3 blocks).

Its layout differs from YOLOv5's in two ways that the conversion undoes: the output convolutions are
separate `nn.Conv2d` layers that `Detect` reads (edgeyolo's Detect owns them, as YOLOv5's does), so those
rows are folded into Detect and every later index renumbered; and Detect also saves an `anchor_grid`
buffer (pixels) beside `anchors` (grid units). The model YAML is the pickled `md` dict, whose args its
`parse_model` has already evaluated in place.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch

from edgeyolo.models.blocks import REGISTRY
from edgeyolo.models.checkpoint import CheckpointError
from edgeyolo.models.foreign.safe_pickle import Placeholder, module_tree_state
from edgeyolo.models.foreign.yolov5 import Converted, build, dump_yaml, names_list, tree_overrides

FORMAT = "PyTorch_YOLOv4"
COMMON = (
    "Conv",
    "Bottleneck",
    "BottleneckCSP",
    "BottleneckCSP2",
    "SPP",
    "SPPCSP",
    "Concat",
    "Mish",
    "CBH",
    "mb3Block",
    "mb3SE",
    "hswish",
    "hsigmoid",
)
CLASSES = {f"models.common.{n}" for n in COMMON} | {"models.yolo.Model", "models.yolo.Detect"}
# parse_model's width-scaled modules; document 002's CBH/mb3Block branches do not scale.
CHANNEL_MODULES = {"Conv", "Bottleneck", "SPP", "BottleneckCSP", "BottleneckCSP2", "SPPCSP", "nn.Conv2d"}


def is_pytorch_yolov4(root: Placeholder) -> bool:
    """Its Model keeps the YAML dict as `md` (YOLOv5's as `yaml`)."""
    return isinstance(root.attrs.get("md"), dict)


def from_pickle(ckpt: dict[str, Any], source: str) -> Converted:
    """A PyTorch_YOLOv4 train.py checkpoint: `model` is already its EMA."""
    root = ckpt.get("model")
    if not isinstance(root, Placeholder):
        raise CheckpointError(f"{source}: a {FORMAT} checkpoint without a model under 'model'")
    md = copy.deepcopy(root.attrs["md"])
    layers = list((root.attrs.get("_modules") or {}).get("model").attrs.get("_modules").values())
    rows = (md.get("backbone") or []) + (md.get("head") or [])
    if len(rows) != len(layers) or not layers or layers[-1].short_name != "Detect":
        raise CheckpointError(f"{source}: {FORMAT} model layers do not follow its YAML (last must be Detect)")
    nc, anchors = md.get("nc"), md.get("anchors")
    na = len(anchors[0]) // 2
    no = na * (nc + 5)
    gd, gw = float(md.get("depth_multiple", 1.0)), float(md.get("width_multiple", 1.0))
    d_old = len(layers) - 1
    detect = layers[-1]
    outs = [f % d_old for f in detect.attrs.get("f")]  # the nn.Conv2d layers Detect reads, P3 first
    if any(rows[i][2] != "nn.Conv2d" for i in outs):
        raise CheckpointError(f"{source}: {FORMAT} Detect inputs are not its nn.Conv2d output layers")
    new = {}
    for i in range(len(rows)):
        if i not in outs:
            new[i] = len(new)

    def absolute(i: int) -> int:
        f = layers[i].attrs.get("f")
        return i + f if f < 0 else f

    def new_from(i: int, j: int) -> int:
        if j < 0:
            return -1  # the input image
        if j not in new:
            raise CheckpointError(f"{source}: layer {i} reads an output convolution ({j}); not supported")
        return -1 if new[j] == new[i] - 1 else new[j]

    out_rows = []
    kept = []
    for i, (f, n, m, args) in enumerate(rows):
        if i in outs:
            continue
        args = list(args)
        if i == d_old:
            f = [new[absolute(k)] for k in outs]
            args = ["nc", "anchors"]
        elif isinstance(f, list):
            f = [new_from(i, i + j if j < 0 else j) for j in f]
        else:
            f = new_from(i, absolute(i))
        if m not in REGISTRY:
            raise CheckpointError(f"{source}: {FORMAT} module {m!r} has no edgeyolo equivalent")
        n = max(round(n * gd), 1) if n > 1 else n
        if m in CHANNEL_MODULES and args and isinstance(args[0], int):
            if args[0] == no:
                kept.append(f"{m} {args[0]}")
            else:
                args[0] = int(math.ceil(args[0] * gw / 8) * 8)
        out_rows.append([f, n, m, args])
    n_backbone = len([i for i in range(len(md.get("backbone") or [])) if i in new])

    state = module_tree_state(root)
    d_new = new[d_old]

    def rename(path: str) -> str:
        parts = path.split(".", 2)
        if len(parts) < 2 or parts[0] != "model" or not parts[1].isdigit():
            return path
        i = int(parts[1])
        rest = parts[2] if len(parts) == 3 else ""
        if i in outs:
            head = f"model.{d_new}.m.{outs.index(i)}"
        else:
            head = f"model.{new[i]}"
        return f"{head}.{rest}" if rest else head

    stride = detect.attrs.get("stride")
    if not isinstance(stride, torch.Tensor):
        raise CheckpointError(f"{source}: the {FORMAT} Detect layer holds no stride")
    stride = stride.float()
    sd: dict[str, torch.Tensor] = {}
    adapted = [
        "weights from 'model' (PyTorch_YOLOv4 saves its EMA there)",
        f"output convolutions (layers {', '.join(map(str, outs))}) folded into Detect; layers renumbered",
    ]
    if kept:
        adapted.append(f"channel argument(s) equal to na*(nc+5)={no} left unscaled, as its parse_model does")
    half = False
    for k, v in state.items():
        if k.endswith(".anchor_grid"):
            continue  # the same anchors in pixels, rebuilt from `anchors` x stride
        if v.is_floating_point():
            half |= v.dtype == torch.float16
            v = v.float()
        sd[rename(k)] = v.contiguous()
    if half:
        adapted.append("fp16 weights converted to fp32")
    grid = sd[f"model.{d_new}.anchors"]
    pixels = grid * stride.view(-1, 1, 1)
    sd[f"model.{d_new}.anchors"] = pixels
    sd[f"model.{d_new}.stride"] = stride.clone()
    adapted.append(f"anchors from grid units to pixels (strides {[int(s) for s in stride.tolist()]})")
    data = {
        "nc": nc,
        "depth_multiple": 1.0,
        "width_multiple": 1.0,
        "anchors": [[round(float(v), 6) for v in level.flatten().tolist()] for level in pixels],
        "activation": "Mish" if any(_has_class(root, "models.common.Mish")) else "LeakyReLU",
        "backbone": out_rows[:n_backbone],
        "head": out_rows[n_backbone:],
    }
    cfg = dump_yaml(data, f"imported from a {FORMAT} checkpoint ({source}); scaling already applied")
    model = build(cfg, source)
    conv = Converted(cfg, sd, names_list(root.attrs.get("names"), int(nc)), None, {}, adapted)
    conv.overrides = tree_overrides(root, model, conv.adapted, rename)
    return conv


def _has_class(root: Placeholder, name: str):
    from edgeyolo.models.foreign.safe_pickle import iter_modules

    return (mod.qualified_name == name for _, mod in iter_modules(root))
