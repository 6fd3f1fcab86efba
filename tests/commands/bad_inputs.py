"""Builders of malformed inputs shared by the hardening tests and the bad-input corpus (all generated
on the fly from a small real model, nothing committed)."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path
from typing import Any

import yaml

SMALL_CFG = "yolov5n-mobilenetv2"


def small_payload(nc: int = 2) -> dict[str, Any]:
    """A valid checkpoint payload of the small config (as `save_checkpoint` writes it)."""
    import torch

    from edgeyolo.models.yolo import create_model

    torch.manual_seed(0)
    model = create_model(SMALL_CFG, nc=nc).eval()
    return {
        "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "cfg": model.cfg.text,
        "names": [f"c{i}" for i in range(nc)],
        "imgsz": 64,
        "meta": {},
    }


def write_payload(path: Path, payload: dict[str, Any], **changes: Any) -> Path:
    """torch.save a copy of `payload` with top-level keys changed (a value of `...` deletes the key)."""
    import torch

    data = {k: v for k, v in payload.items() if k != "model"}
    data = copy.deepcopy(data)
    data["model"] = dict(payload["model"])
    for key, value in changes.items():
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    torch.save(data, path)
    return path


def with_tensor(payload: dict[str, Any], key: str, fill: float) -> dict[str, Any]:
    """The state_dict of `payload` with tensor `key` filled with `fill` (e.g. NaN)."""
    state = dict(payload["model"])
    state[key] = state[key].clone().fill_(fill)
    return state


def recompress(src: Path, dst: Path, inflate_to: int | None = None) -> Path:
    """Copy a torch zip with its storages deflated; `inflate_to` replaces the first storage with that many
    zero bytes (a small file that would inflate to a huge one)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        first = True
        for info in zin.infolist():
            data = zin.read(info)
            if "/data/" in info.filename and not info.filename.endswith("serialization_id"):
                if inflate_to and first:
                    data = bytes(inflate_to)
                first = False
                zout.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
            else:
                zout.writestr(info, data)
    return dst


def cfg_with(path: Path, **changes: Any) -> Path:
    """The small config's YAML with top-level keys changed, written to `path`."""
    from edgeyolo.config import load_config

    data = yaml.safe_load(load_config(SMALL_CFG).text)
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cfg_with_row(path: Path, section: str, pos: int, field: int, value: Any) -> Path:
    """The small config with one field of one layer row replaced."""
    from edgeyolo.config import load_config

    data = yaml.safe_load(load_config(SMALL_CFG).text)
    data[section][pos][field] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def onnx_with_metadata(src: Path, dst: Path, **changes: Any) -> Path:
    """A copy of an exported ONNX whose `edgeyolo` record has keys changed (the graph is untouched)."""
    import json

    import onnx

    model = onnx.load(str(src))
    for prop in model.metadata_props:
        if prop.key == "edgeyolo":
            record = json.loads(prop.value)
            record.update(changes)
            prop.value = json.dumps(record)
    onnx.save(model, str(dst))
    return dst
