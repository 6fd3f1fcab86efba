"""Checkpoints trained elsewhere (DESIGN.md §3): recognised by content, read without running their code,
converted once into edgeyolo's native checkpoint.

`load_checkpoint` calls `screen` before it loads anything and `from_plain_object` when a weights-only
load gives something that is not an edgeyolo checkpoint; both return None when the file is not foreign.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from edgeyolo.models.checkpoint import Checkpoint, CheckpointError
from edgeyolo.models.foreign import pytorch_yolov4, yolobody, yolov5
from edgeyolo.models.foreign.safe_pickle import (
    PLAIN_DATA,
    TORCH_NN,
    Placeholder,
    UnsupportedCheckpointError,
    list_globals,
    load_with_placeholders,
)

# YOLOv5 and PyTorch_YOLOv4 share module names (`models.yolo.Model`, `models.common.Conv`); which one a
# file is shows after loading (the YAML dict is `yaml` in one, `md` in the other).
FORMATS = {f"{yolov5.FORMAT}/{pytorch_yolov4.FORMAT}": yolov5.CLASSES | pytorch_yolov4.CLASSES}


def screen(path: Path, trust: bool) -> Checkpoint | None:
    """Refuse a pickle naming anything off the allow-list (whatever `trust` says); convert a known foreign
    format; return None for a file the native loader should read (plain tensors, or a trusted edgeyolo
    pickle)."""
    names = list_globals(path)
    if names is None:
        if trust:
            raise CheckpointError(
                f"{path} is not a torch zip checkpoint (legacy format or not a checkpoint); edgeyolo does "
                "not unpickle such files, trusted or not: re-save it with a current torch.save"
            )
        return None
    if not names:
        return None
    fmt = classify(names, path)
    if fmt == "edgeyolo":
        return None  # the native loader decides (it needs --trust-checkpoint)
    pickled = load_with_placeholders(path, names)
    if not isinstance(pickled.obj, dict):
        kind = type(pickled.obj).__name__
        raise CheckpointError(f"{path}: a {fmt} file holding {kind}, not a checkpoint dict")
    root = pickled.obj.get("model")
    if isinstance(root, Placeholder) and pytorch_yolov4.is_pytorch_yolov4(root):
        return _checkpoint(pytorch_yolov4.from_pickle(pickled.obj, str(path)), path, pytorch_yolov4.FORMAT)
    return _checkpoint(yolov5.from_pickle(pickled.obj, str(path)), path, yolov5.FORMAT)


def classify(names: list[str], path: Path) -> str:
    """Which format the pickled globals belong to; refuses forbidden and unknown names, naming them."""
    forbidden = [
        n
        for n in names
        if n not in TORCH_NN
        and n not in PLAIN_DATA
        and not n.startswith(("models.", "ultralytics.", "edgeyolo.", "torch.nn.modules."))
    ]
    if forbidden:
        raise CheckpointError(
            f"refusing {path}: its pickle names {forbidden[0]}, which edgeyolo never loads because it could "
            "run code (with or without --trust-checkpoint)"
        )
    ultra = [n for n in names if n.startswith("ultralytics.")]
    if ultra:
        raise UnsupportedCheckpointError(
            f"{path} is an Ultralytics package checkpoint ({ultra[0]}, YOLOv8/YOLO11 family): not a "
            f"supported architecture; edgeyolo imports {', '.join(FORMATS)} checkpoints"
        )
    if all(n in TORCH_NN or n in PLAIN_DATA or n.startswith("edgeyolo.") for n in names):
        return "edgeyolo"
    modules = [n for n in names if n.startswith(("models.", "torch.nn.")) and n not in TORCH_NN]
    for fmt, classes in FORMATS.items():
        unknown = [n for n in modules if n not in classes]
        if not unknown:
            return fmt
        raise UnsupportedCheckpointError(
            f"{path}: unknown module class {unknown[0]} in a {fmt}-style checkpoint; edgeyolo cannot map it"
        )
    raise UnsupportedCheckpointError(f"{path}: no supported format uses {modules[0]}")


def from_plain_object(
    obj: Any, path: Path, cfg_text: str | None, side: dict[str, str | Path | None] | None = None
) -> Checkpoint | None:
    """A weights-only object that is not an edgeyolo checkpoint: a plain YOLOv5 state_dict (needs the model
    YAML), a document-001 YoloBody state_dict (needs `side` files: classes, anchors), or None when it is
    nothing foreign either."""
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state:
        return None
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        return None
    if yolobody.is_yolobody(state):
        side = side or {}
        names, anchors = yolobody.read_side_files(side.get("classes"), side.get("anchors"), str(path))
        conv = yolobody.from_state_dict(state, str(path), names, anchors)
        return _checkpoint(conv, path, yolobody.FORMAT)
    if not any(k.startswith("model.") and k.endswith(".anchors") for k in state):
        raise CheckpointError(
            f"{path} is not an edgeyolo checkpoint, nor a state_dict of a known layout {_sample(state)}"
        )
    if cfg_text is None:
        raise CheckpointError(
            f"{path} is a plain {yolov5.FORMAT} state_dict: pass the YOLOv5 model YAML it was trained with "
            "(--cfg model.yaml)"
        )
    conv = yolov5.from_state_dict(state, cfg_text, str(path))
    return _checkpoint(conv, path, f"{yolov5.FORMAT} state_dict")


def load_with_side_files(path: Path, classes: str | Path | None, anchors: str | Path | None) -> Checkpoint:
    """A plain state_dict that needs side files (document 001's YoloBody), read weights-only."""
    names = list_globals(path)
    if names:
        classify(names, path)  # refuses what must be refused, naming it
        raise CheckpointError(
            f"{path}: --classes/--anchors are for a plain YoloBody state_dict, not this file"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        raise CheckpointError(f"{path} is not a readable checkpoint: {lines[0] if lines else exc}") from None
    ckpt = from_plain_object(obj, path, None, {"classes": classes, "anchors": anchors})
    if ckpt is None or ckpt.meta["imported_from"]["format"] != yolobody.FORMAT:
        raise CheckpointError(
            f"{path}: --classes/--anchors are for a plain YoloBody state_dict, not this file"
        )
    return ckpt


def _sample(state: dict[str, torch.Tensor]) -> str:
    keys = list(state)[:3]
    return "(first keys: " + ", ".join(f"{k} {tuple(state[k].shape)}" for k in keys) + ")"


def _checkpoint(conv: yolov5.Converted, path: Path, fmt: str) -> Checkpoint:
    meta = {
        "imported_from": {"format": fmt, "file": path.name, "sha256": _sha256(path)},
        "adapted": conv.adapted,
        "overrides": conv.overrides,
        "converted": True,  # in memory only: `edgeyolo import` writes the native checkpoint without it
    }
    return Checkpoint(
        state_dict=conv.state_dict,
        cfg=conv.cfg_text,
        names=conv.names,
        imgsz=conv.imgsz or 640,
        meta=meta,
        path=str(path),
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
