"""Training settings (no torch here, so the CLI can build its parser cheaply)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from edgeyolo.errors import EdgeYoloError

# Settings that belong to the machine a run continues on, not to its recipe: a resumed run takes every
# other field back from its checkpoint, so a new recipe setting is restored without being listed here.
MACHINE_FIELDS = frozenset({"workers", "cache", "out", "resume", "weights", "trust_checkpoint"})


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
    out: str | None = None  # default: runs/train, or the resumed last.pt's folder
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

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Refuse settings that cannot work, before any data is read."""
        if self.imgsz <= 0 or self.imgsz % 32:
            raise EdgeYoloError(f"imgsz {self.imgsz} must be a positive multiple of 32")
        if not 0.0 <= self.mosaic <= 1.0:
            raise EdgeYoloError(f"mosaic is a probability in [0, 1], got {self.mosaic}")
        if not 0.0 <= self.scale < 1.0:
            raise EdgeYoloError(f"scale must be in [0, 1) (the gain is 1 ± scale), got {self.scale}")
        for name in ("epochs", "batch", "val_every"):
            if getattr(self, name) < 1:
                raise EdgeYoloError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.workers < 0:
            raise EdgeYoloError(f"workers must be 0 or more, got {self.workers}")


def recipe_fields() -> list[str]:
    """The settings a resumed run restores from its checkpoint."""
    return [f.name for f in fields(TrainConfig) if f.name not in MACHINE_FIELDS]
