"""Design document 001's YOLOv4-MobileNet `YoloBody` (bubbliiiing/mobilenet-yolov4-pytorch): a plain
`state_dict` `.pth` plus the classes and anchors `.txt` files its train.py reads.

The architecture is edgeyolo's `yolov4-lite-mobilenetv2` config with the widths the weights have; tensors
are mapped block by block (same order, shapes checked); the MobileNetV2 parts YoloBody never runs
(`features.18`, `classifier`) are dropped; boxes decode the YOLOv3 way (`decode: yolov3`).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from edgeyolo.config import load_config
from edgeyolo.models.checkpoint import CheckpointError
from edgeyolo.models.foreign.yolov5 import Converted, build, dump_yaml

FORMAT = "YoloBody (YOLOv4-MobileNet, design document 001)"
TEMPLATE = "yolov4-lite-mobilenetv2"
BACKBONE = "backbone.model.features."
# YoloBody module → edgeyolo layer of the template (Detect is layer 35).
NECK = [
    ("conv1.", "13"),
    ("conv2.", "15"),
    ("upsample1.upsample.0.", "16"),
    ("conv_for_P4.", "18"),
    ("make_five_conv1.", "20"),
    ("upsample2.upsample.0.", "21"),
    ("conv_for_P3.", "23"),
    ("make_five_conv2.", "25"),
    ("down_sample1.", "26"),
    ("make_five_conv3.", "28"),
    ("down_sample2.", "29"),
    ("make_five_conv4.", "31"),
    ("yolo_head3.0.", "32"),
    ("yolo_head2.0.", "33"),
    ("yolo_head1.0.", "34"),
    ("yolo_head3.1.", "35.m.0"),
    ("yolo_head2.1.", "35.m.1"),
    ("yolo_head1.1.", "35.m.2"),
]
# torchvision-style MobileNetV2 `features` indices of each template backbone row (row 0 is features.0).
FEATURE_ROWS = [[1], [2], [3], [4], [5, 6], [7], [8, 9, 10], [11], [12, 13], [14], [15, 16], [17]]
NECK_CHANNEL_ARGS = {"make_three_conv": 2, "make_five_conv": 2, "Conv": 1, "conv_dw": 1}


def is_yolobody(state: dict[str, torch.Tensor]) -> bool:
    return "yolo_head1.1.weight" in state and any(k.startswith("backbone.") for k in state)


def read_side_files(classes: str | Path | None, anchors: str | Path | None, source: str):
    """The class names and the 9 anchors (w, h pairs, pixels) of YoloBody's train.py text files."""
    missing = [flag for flag, value in (("--classes", classes), ("--anchors", anchors)) if value is None]
    if missing:
        raise CheckpointError(
            f"{source} is a {FORMAT} state_dict: it needs its classes and anchors .txt files "
            f"(missing {' and '.join(missing)}): edgeyolo import {source} --classes voc_classes.txt "
            "--anchors yolo_anchors.txt -o model.pt"
        )
    try:
        names = [n.strip() for n in Path(classes).read_text(encoding="utf-8").splitlines() if n.strip()]
        values = [float(v) for v in Path(anchors).read_text(encoding="utf-8").split(",") if v.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"cannot read the classes/anchors file: {exc}") from None
    if len(values) != 18:
        raise CheckpointError(
            f"{anchors}: expected 9 anchors (18 comma-separated numbers), got {len(values)}"
        )
    return names, values


def from_state_dict(
    state: dict[str, torch.Tensor], source: str, names: list[str], anchor_values: list[float]
) -> Converted:
    if not any(k.startswith(f"{BACKBONE}17.") for k in state) or any(".stage1." in k for k in state):
        raise CheckpointError(f"{source}: only YoloBody(backbone='mobilenetv2') is supported")
    head_out = state["yolo_head1.1.weight"].shape[0]
    nc = head_out // 3 - 5
    if head_out != 3 * (nc + 5) or nc != len(names):
        raise CheckpointError(
            f"{source}: its heads have {head_out} outputs, 3*(5+nc) for nc={nc}, but the classes file names "
            f"{len(names)} classes"
        )
    data = copy.deepcopy(load_config(TEMPLATE).data)
    data["nc"] = nc
    data["decode"] = "yolov3"
    # bubbliiiing's anchors_mask [[6,7,8],[3,4,5],[0,1,2]]: the 13x13 head takes the largest three
    data["anchors"] = [anchor_values[0:6], anchor_values[6:12], anchor_values[12:18]]
    data["backbone"][0][3][0] = _out_channels(state, f"{BACKBONE}0.")
    for row, features in zip(data["backbone"][1:], FEATURE_ROWS, strict=True):
        row[3][0] = _out_channels(state, f"{BACKBONE}{features[0]}.")
    k = state["conv1.0.conv.weight"].shape[0] / 512
    for row in data["head"]:
        for a in range(NECK_CHANNEL_ARGS.get(row[2], 0)):
            row[3][a] = round(row[3][a] * k)
    cfg = dump_yaml(data, f"imported from a {FORMAT} state_dict ({source})")
    model = build(cfg, source)
    sd = _map(state, model.state_dict(), source)
    dropped = sorted(
        {
            ".".join(k.split(".")[:4])
            for k in state
            if k.startswith(("backbone.model.features.18", "backbone.model.classifier"))
        }
    )
    adapted = [
        f"architecture: {TEMPLATE} at the widths the weights have "
        f"(backbone x{data['backbone'][0][3][0] / 32:g}, neck x{k:g})",
        "boxes decode the YOLOv3 way (sigmoid + cell, exp x anchor): the exported contract says head "
        "'yolov3-anchor'",
        "anchors from the anchors file, the largest three on the stride-32 head (YoloBody's anchors_mask)",
    ]
    if dropped:
        adapted.append(f"unused MobileNetV2 parts dropped ({', '.join(dropped)})")
    return Converted(cfg, sd, list(names), None, {}, adapted)


def _out_channels(state: dict[str, torch.Tensor], prefix: str) -> int:
    """Output channels of a ConvBNReLU/InvertedResidual: the size of its last BatchNorm."""
    bns = [k for k in state if k.startswith(prefix) and k.endswith(".running_mean")]
    if not bns:
        raise CheckpointError(f"no BatchNorm under {prefix!r}: not a MobileNetV2 YoloBody")
    return int(state[bns[-1]].shape[0])


def _map(
    theirs: dict[str, torch.Tensor], ours: dict[str, torch.Tensor], source: str
) -> dict[str, torch.Tensor]:
    """Pair tensors block by block, in order, requiring equal shapes."""
    out: dict[str, torch.Tensor] = {}
    groups = [(BACKBONE, [f"model.{i}." for i in range(13)])] + [(a, [f"model.{b}."]) for a, b in NECK]
    for prefix, targets in groups:
        src = [k for k in theirs if k.startswith(prefix)]
        if prefix == BACKBONE:
            src = [k for k in src if int(k[len(BACKBONE) :].split(".")[0]) <= 17]
        dst = [k for k in ours if k.startswith(tuple(targets))]
        if len(src) != len(dst):
            raise CheckpointError(
                f"{source}: {prefix.rstrip('.')} holds {len(src)} tensors, edgeyolo's layer {len(dst)}"
            )
        for a, b in zip(src, dst, strict=True):
            if theirs[a].shape != ours[b].shape:
                raise CheckpointError(
                    f"{source}: {a} {tuple(theirs[a].shape)} does not fit {b} {tuple(ours[b].shape)}"
                )
            out[b] = theirs[a].float() if theirs[a].is_floating_point() else theirs[a]
    for k, v in ours.items():  # Detect's anchors and stride come from the rebuilt model
        out.setdefault(k, v)
    missing = [k for k in ours if k not in out]
    if missing:
        raise CheckpointError(f"{source}: no weights for {', '.join(missing[:3])}")
    return out
