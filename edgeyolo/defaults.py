"""Defaults shared by the CLI commands, including the shipped model."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

SHIPPED_NAME = "shapes-yolov5s-mobilenetv2"
# The synthetic data the shipped model was trained on: `edgeyolo data synth --seed 0 --imgsz 256`.
SHIPPED_TRAINING_SEED = 0
SHIPPED_TRAINING_IMGSZ = 256


def cache_root() -> Path:
    """edgeyolo's cache folder: $EDGEYOLO_CACHE, else $XDG_CACHE_HOME/edgeyolo, else ~/.cache/edgeyolo."""
    if os.environ.get("EDGEYOLO_CACHE"):
        return Path(os.environ["EDGEYOLO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeyolo"


def shipped_weights() -> Path:
    """The shipped checkpoint (trained on the synthetic shapes dataset; see docs/models.md)."""
    return Path(str(resources.files("edgeyolo.assets") / f"{SHIPPED_NAME}.pt"))


def shipped_onnx() -> Path:
    """The shipped model exported to ONNX (raw outputs, float input), for torch-free use."""
    return Path(str(resources.files("edgeyolo.assets") / f"{SHIPPED_NAME}.onnx"))


def is_shipped(path: str | Path) -> bool:
    return Path(path).resolve() in (shipped_weights().resolve(), shipped_onnx().resolve())
