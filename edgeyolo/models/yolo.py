"""`DetectionModel`: a YOLO detector built from a model YAML, and `create_model`."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from edgeyolo.config import ModelConfig, ModelConfigError, load_config, parse_config_text
from edgeyolo.models.head import Detect
from edgeyolo.models.parser import BACKBONE_SLOTS, LayerRow, check_model_size, parse_model

STRIDE_PROBE = 256  # input size used to measure each level's stride


class DetectionModel(nn.Module):
    """A YOLO detector: layers from YAML, a Detect head, known strides and anchors (in pixels)."""

    fuse_walks_children = True  # its fuse() is fuse_model itself

    def __init__(self, cfg: ModelConfig, ch: int = 3, nc: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        if nc is not None and nc != cfg.data.get("nc"):
            cfg = ModelConfig(
                data={**cfg.data, "nc": int(nc)}, text=cfg.text, source=cfg.source, lines=cfg.lines
            )
            self.cfg = cfg
        check_model_size(cfg, ch)  # refuses absurd sizes before allocating anything
        self.model, self.save, self.rows = parse_model(cfg, ch)
        self.head.box_decode = box_decode(cfg)
        self.names = [str(i) for i in range(self.nc)]
        self.ch = ch
        self._measure_strides()
        self.head.initialize_biases()

    @property
    def head(self) -> Detect:
        return self.model[-1]

    @property
    def nc(self) -> int:
        return self.head.nc

    @property
    def strides(self) -> list[int]:
        return [int(s) for s in self.head.stride.tolist()]

    @property
    def anchors_pixels(self) -> list[list[float]]:
        """Anchors per level as flat (w, h, ...) lists in input pixels."""
        return [[float(v) for v in level.flatten().tolist()] for level in self.head.anchors]

    @property
    def max_stride(self) -> int:
        return max(self.strides)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        y: list[torch.Tensor | None] = []
        for m in self.model:
            if m.f != -1:
                x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
            x = m(x)
            if isinstance(x, list) and getattr(m, "multi_output", False):
                y.extend(
                    [None] * (BACKBONE_SLOTS - len(x))
                    + [t if k in self.save else None for k, t in self._slots(x)]
                )
                x = x[-1]
            else:
                y.append(x if m.i in self.save else None)
        return x

    @staticmethod
    def _slots(features: list[torch.Tensor]):
        offset = BACKBONE_SLOTS - len(features)
        return [(offset + k, t) for k, t in enumerate(features)]

    def _measure_strides(self) -> None:
        """Run a probe through the layers, naming the YAML line of any layer that cannot run."""
        head = self.head
        was_training = self.training
        self.eval()
        x: torch.Tensor | list = torch.zeros(1, self.ch, STRIDE_PROBE, STRIDE_PROBE)
        y: list = []
        with torch.no_grad():
            for m in self.model:
                if m.f != -1:
                    x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
                try:
                    x = head.forward_raw(x) if m is head else m(x)
                except RuntimeError as exc:
                    shapes = [tuple(t.shape) for t in x] if isinstance(x, list) else tuple(x.shape)
                    raise ModelConfigError(
                        f"{m.where}: layer {m.i} ({m.type}) cannot take its input {shapes}: "
                        f"{str(exc).splitlines()[0]}"
                    ) from exc
                if isinstance(x, list) and getattr(m, "multi_output", False):
                    y.extend([None] * (BACKBONE_SLOTS - len(x)) + list(x))
                    x = x[-1]
                else:
                    y.append(x)
        strides = [STRIDE_PROBE / t.shape[-2] for t in x]
        if any(s != int(s) for s in strides):
            raise ModelConfigError(f"{self.cfg.source}: Detect inputs have non-integer strides {strides}")
        head.stride.copy_(torch.tensor(strides))
        self.train(was_training)

    def fuse(self) -> DetectionModel:
        """Fold BatchNorms and reparameterise in place (see `edgeyolo.models.fuse.fuse_model`)."""
        from edgeyolo.models.fuse import fuse_model

        return fuse_model(self)


BOX_DECODES = ("yolov5", "yolov3")


def box_decode(cfg: ModelConfig) -> str:
    """How the head turns logits into boxes: a model YAML's `decode:` (default yolov5)."""
    value = cfg.data.get("decode", "yolov5")
    if value not in BOX_DECODES:
        raise ModelConfigError(f"{cfg.source}: 'decode' must be one of {BOX_DECODES}, got {value!r}")
    return value


def create_model(cfg: str | Path | ModelConfig, nc: int | None = None, ch: int = 3) -> DetectionModel:
    """Build a detector from a shipped config name, a YAML path, or a parsed ModelConfig."""
    if not isinstance(cfg, ModelConfig):
        cfg = load_config(cfg)
    return DetectionModel(cfg, ch=ch, nc=nc)


def model_from_yaml_text(text: str, source: str = "<yaml>", nc: int | None = None) -> DetectionModel:
    """Build a detector from YAML text (as stored in a checkpoint)."""
    return DetectionModel(parse_config_text(text, source), nc=nc)


__all__ = ["DetectionModel", "LayerRow", "create_model", "model_from_yaml_text"]
