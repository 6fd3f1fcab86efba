"""The model zoo: YOLOv5-style YAML → `DetectionModel` (imports torch)."""

from edgeyolo.models.blocks import REGISTRY
from edgeyolo.models.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from edgeyolo.models.registry import LayerSpec, register_block, register_module
from edgeyolo.models.yolo import DetectionModel, create_model

__all__ = [
    "REGISTRY",
    "CheckpointError",
    "DetectionModel",
    "LayerSpec",
    "create_model",
    "load_checkpoint",
    "load_model",
    "register_block",
    "register_module",
    "save_checkpoint",
]
