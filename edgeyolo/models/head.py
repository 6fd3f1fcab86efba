"""The anchor-based YOLOv5/YOLOv4 `Detect` head."""

from __future__ import annotations

import math

import torch
from torch import nn

from edgeyolo.models.registry import register_block


@register_block(kind="detect")
class Detect(nn.Module):
    """One 1x1 conv per level producing na*(5+nc) logits per cell.

    Output modes: ``raw`` (training, and raw export) returns the per-level logits [B, na*(5+nc), H, W];
    ``decoded`` returns [B, N, 5+nc] with xywh in input pixels and sigmoid scores (YOLOv5 decoding, or
    YOLOv3's when `box_decode` is "yolov3").
    """

    def __init__(self, nc: int, anchors: list[list[float]], ch: list[int]) -> None:
        super().__init__()
        self.nc = nc
        self.no = nc + 5
        self.nl = len(anchors)
        self.na = len(anchors[0]) // 2
        if len(ch) != self.nl:
            raise ValueError(f"Detect has {self.nl} anchor levels but {len(ch)} input layers")
        self.register_buffer("anchors", torch.tensor(anchors, dtype=torch.float32).view(self.nl, self.na, 2))
        self.register_buffer("stride", torch.zeros(self.nl))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)
        self.mode = "decoded"
        self.box_decode = "yolov5"  # or "yolov3" (a model YAML's top-level `decode:`)

    def forward_raw(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per-level logits [B, na*(5+nc), H, W]."""
        return [conv(xi) for conv, xi in zip(self.m, x, strict=True)]

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor] | torch.Tensor:
        out = self.forward_raw(x)
        if self.training or self.mode == "raw":
            return out
        return torch.cat([self._decode_level(o, i) for i, o in enumerate(out)], 1)

    def _decode_level(self, logits: torch.Tensor, i: int) -> torch.Tensor:
        bs, _, ny, nx = logits.shape
        t = logits.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2)
        p = t.sigmoid()
        ys = torch.arange(ny, device=p.device, dtype=torch.float32)  # fp16 Range does not export
        xs = torch.arange(nx, device=p.device, dtype=torch.float32)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        grid = (torch.stack((gx, gy), -1).view(1, 1, ny, nx, 2) - 0.5).to(p.dtype)
        anchor = self.anchors[i].view(1, self.na, 1, 1, 2).to(p.dtype)
        if self.box_decode == "yolov3":  # YOLOv3/YOLOv4 style: sigmoid + cell, exp x anchor
            xy = (p[..., :2] + grid + 0.5) * self.stride[i].to(p.dtype)
            wh = t[..., 2:4].exp() * anchor
            return torch.cat((xy, wh, p[..., 4:]), -1).view(bs, -1, self.no)
        xy = (p[..., :2] * 2 + grid) * self.stride[i].to(p.dtype)
        wh = (p[..., 2:4] * 2) ** 2 * anchor
        return torch.cat((xy, wh, p[..., 4:]), -1).view(bs, -1, self.no)

    def initialize_biases(self) -> None:
        """YOLOv5 prior: ~8 objects per 640x640 image, uniform class probabilities."""
        for conv, s in zip(self.m, self.stride.tolist(), strict=True):
            b = conv.bias.view(self.na, -1)
            with torch.no_grad():
                b[:, 4] += math.log(8 / (640 / s) ** 2)
                b[:, 5:] += math.log(0.6 / (self.nc - 0.99)) if self.nc > 1 else 0.0
