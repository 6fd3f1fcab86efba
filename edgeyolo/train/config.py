"""Training settings (no torch here, so the CLI can build its parser cheaply)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    cfg: str = "yolov5s-mobilenetv2"  # the shipped model's architecture
    data: str = "data.yaml"
    epochs: int = 30
    imgsz: int = 320
    batch: int = 16
    workers: int = 2
    weights: str | None = None
    resume: str | None = None
    out: str = "runs/train"
    optimizer: str = "SGD"
    lr0: float = 0.01
    lrf: float = 0.01
    momentum: float = 0.937
    weight_decay: float = 5e-4
    warmup_epochs: float = 3.0
    label_smoothing: float = 0.0
    mosaic: float = 1.0  # probability of a mosaic; 0 for the final fine-tuning epochs
    scale: float = 0.5  # scale augmentation: random gain in [1 - scale, 1 + scale]
    val_every: int = 1
    cache: bool = False  # keep decoded training images in memory
    seed: int = 0
    trust_checkpoint: bool = False
