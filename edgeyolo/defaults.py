"""Defaults shared by the CLI commands, including the shipped model."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_CFG = "yolov5n-mobilenetv2"
DEFAULT_IMGSZ = 640
SHIPPED_NAME = "shapes-yolov5n-mobilenetv2"


def shipped_weights() -> Path:
    """The shipped checkpoint (trained on the synthetic shapes dataset; see the README)."""
    return Path(str(resources.files("edgeyolo.assets") / f"{SHIPPED_NAME}.pt"))


def shipped_onnx() -> Path:
    """The shipped model exported to ONNX (raw outputs, float input), for torch-free use."""
    return Path(str(resources.files("edgeyolo.assets") / f"{SHIPPED_NAME}.onnx"))


def is_shipped(path: str | Path) -> bool:
    return Path(path).resolve() in (shipped_weights().resolve(), shipped_onnx().resolve())
