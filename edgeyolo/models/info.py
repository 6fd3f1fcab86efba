"""Model summary: parameter counts, GFLOPs (torch's own flop counter) and the per-layer table."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from edgeyolo.models.yolo import DetectionModel


@dataclass(frozen=True)
class ModelSummary:
    name: str
    layers: int
    params: int
    gradients: int
    gflops: float
    imgsz: tuple[int, int]
    strides: list[int]
    nc: int

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "layers": self.layers,
            "params": self.params,
            "gradients": self.gradients,
            "gflops": self.gflops,
            "imgsz": list(self.imgsz),
            "strides": self.strides,
            "nc": self.nc,
        }


def _batch_norm_flops(x_shape, *args, out_shape=None, **kwargs) -> int:
    # thop's convention, which the documents' figures use: normalise (2) + affine (2) ops per element,
    # then doubled like every count. torch's own counter leaves BatchNorm out.
    return 8 * math.prod(x_shape)


_BN_OPS = [
    getattr(torch.ops.aten, name)
    for name in ("_native_batch_norm_legit_no_training", "_native_batch_norm_legit", "native_batch_norm")
    if hasattr(torch.ops.aten, name)
]


def count_gflops(model: DetectionModel, imgsz: tuple[int, int]) -> float:
    """GFLOPs of one forward pass at `imgsz` (h, w), counted by torch's FlopCounterMode on the meta
    device, so no real computation runs. A multiply-add counts as two FLOPs; BatchNorm is counted as thop
    counts it, so unfused figures compare with the design documents' (fusing removes that share)."""
    meta = copy.deepcopy(model).to("meta").eval()
    x = torch.zeros(1, model.ch, *imgsz, device="meta")
    mapping = dict.fromkeys(_BN_OPS, _batch_norm_flops)
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter, torch.no_grad():
        meta(x)
    return counter.get_total_flops() / 1e9


def summarize(model: DetectionModel, imgsz: tuple[int, int] = (640, 640)) -> ModelSummary:
    """Summary figures for `model` at input size `imgsz`."""
    return ModelSummary(
        name=model.cfg.name,
        layers=len(list(model.modules())),
        params=sum(p.numel() for p in model.parameters()),
        gradients=sum(p.numel() for p in model.parameters() if p.requires_grad),
        gflops=count_gflops(model, imgsz),
        imgsz=imgsz,
        strides=model.strides,
        nc=model.nc,
    )


def format_table(model: DetectionModel, summary: ModelSummary) -> str:
    """The per-layer table in the documents' format, then the summary line."""
    lines = [f"{'':>3}{'from':>18}{'n':>3}{'params':>10}  {'module':<40}{'arguments':<30}"]
    for r in model.rows:
        lines.append(
            f"{r.index:>3}{r.source!s:>18}{r.number:>3}{r.params:10.0f}  {r.module:<40}{r.args!s:<30}"
        )
    lines.append(
        f"{summary.name} summary: {summary.layers} layers, {summary.params} parameters, "
        f"{summary.gradients} gradients, {summary.gflops:.1f} GFLOPs at {summary.imgsz[0]}x{summary.imgsz[1]}"
    )
    return "\n".join(lines)
