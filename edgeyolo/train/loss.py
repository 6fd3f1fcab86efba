"""The YOLOv5 loss: anchor-ratio target assignment with neighbouring cells, CIoU box loss, BCE objectness
(IoU-valued targets, per-level balance) and BCE class loss with optional label smoothing."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from edgeyolo.models.head import Detect

LEVEL_BALANCE = {3: (4.0, 1.0, 0.4)}  # objectness weight per level, P3..P5


@dataclass
class LossWeights:
    box: float = 0.05
    obj: float = 1.0
    cls: float = 0.5
    anchor_t: float = 4.0  # a target matches an anchor when their side ratios are within this factor
    label_smoothing: float = 0.0


def bbox_ciou(box1: torch.Tensor, box2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Complete IoU of paired boxes given as (cx, cy, w, h), shape [n, 4] each."""
    (x1, y1, w1, h1), (x2, y2, w2, h2) = box1.unbind(-1), box2.unbind(-1)
    b1x1, b1x2, b1y1, b1y2 = x1 - w1 / 2, x1 + w1 / 2, y1 - h1 / 2, y1 + h1 / 2
    b2x1, b2x2, b2y1, b2y2 = x2 - w2 / 2, x2 + w2 / 2, y2 - h2 / 2, y2 + h2 / 2
    inter = (torch.min(b1x2, b2x2) - torch.max(b1x1, b2x1)).clamp(0) * (
        torch.min(b1y2, b2y2) - torch.max(b1y1, b2y1)
    ).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.max(b1x2, b2x2) - torch.min(b1x1, b2x1)
    ch = torch.max(b1y2, b2y2) - torch.min(b1y1, b2y1)
    c2 = cw**2 + ch**2 + eps
    rho2 = (x2 - x1) ** 2 + (y2 - y1) ** 2
    v = (4 / math.pi**2) * (torch.atan(w2 / (h2 + eps)) - torch.atan(w1 / (h1 + eps))) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + 1).clamp(min=eps)  # iou can round to a hair above 1: never 0/0
    return iou - (rho2 / c2 + v * alpha)


class YoloLoss:
    """Callable: (raw per-level logits, targets [N, 6] = image, class, cx, cy, w, h normalised) →
    (total loss scaled by batch size, detached [box, obj, cls] components)."""

    def __init__(self, head: Detect, imgsz: int, weights: LossWeights | None = None) -> None:
        w = weights or LossWeights()
        nl, nc = head.nl, head.nc
        self.head = head
        self.na, self.nc, self.nl = head.na, nc, nl
        self.anchor_t = w.anchor_t
        self.balance = LEVEL_BALANCE.get(nl, (4.0, 1.0, 0.25, 0.06, 0.02))[:nl]
        # YOLOv5 scales the gains to the number of levels, classes and the image size.
        self.box_gain = w.box * 3 / nl
        self.cls_gain = w.cls * nc / 80 * 3 / nl
        self.obj_gain = w.obj * (imgsz / 640) ** 2 * 3 / nl
        self.cls_pos, self.cls_neg = 1.0 - 0.5 * w.label_smoothing, 0.5 * w.label_smoothing
        self.bce = nn.BCEWithLogitsLoss()

    def __call__(self, preds: list[torch.Tensor], targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        device = preds[0].device
        lbox, lobj, lcls = (torch.zeros((), device=device) for _ in range(3))
        batch = preds[0].shape[0]
        for i, (p, (cls, box, idx, anchors)) in enumerate(
            zip(preds, self.build_targets(preds, targets), strict=True)
        ):
            bs, _, ny, nx = p.shape
            p = p.view(bs, self.na, self.nc + 5, ny, nx).permute(0, 1, 3, 4, 2)
            tobj = torch.zeros(p.shape[:4], dtype=p.dtype, device=device)
            if cls.shape[0]:
                b, a, gj, gi = idx
                ps = p[b, a, gj, gi]
                pxy = ps[:, :2].sigmoid() * 2 - 0.5
                pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * anchors
                iou = bbox_ciou(torch.cat((pxy, pwh), 1), box)
                lbox = lbox + (1.0 - iou).mean()
                tobj[b, a, gj, gi] = iou.detach().clamp(0).to(tobj.dtype)
                if self.nc > 1:
                    t = torch.full_like(ps[:, 5:], self.cls_neg)
                    t[torch.arange(cls.shape[0], device=device), cls] = self.cls_pos
                    lcls = lcls + self.bce(ps[:, 5:], t)
            lobj = lobj + self.bce(p[..., 4], tobj) * self.balance[i]
        lbox, lobj, lcls = lbox * self.box_gain, lobj * self.obj_gain, lcls * self.cls_gain
        return (lbox + lobj + lcls) * batch, torch.stack((lbox, lobj, lcls)).detach()

    def build_targets(self, preds: list[torch.Tensor], targets: torch.Tensor):
        """Per level: (class, box (cx, cy, w, h) relative to its cell, (image, anchor, gy, gx), anchor wh),
        all in grid units. A target goes to every anchor whose w/h ratios are within `anchor_t`, in its
        own cell and the two neighbouring cells its centre is closest to."""
        na, nt = self.na, targets.shape[0]
        device = targets.device
        out = []
        ai = torch.arange(na, device=device, dtype=targets.dtype).view(na, 1).repeat(1, nt)
        t_all = torch.cat((targets.repeat(na, 1, 1), ai[..., None]), 2)  # [na, nt, 7]
        g = 0.5
        offsets = (
            torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], device=device, dtype=targets.dtype) * g
        )
        for i, p in enumerate(preds):
            ny, nx = p.shape[2], p.shape[3]
            anchors = (self.head.anchors[i] / self.head.stride[i]).to(device, targets.dtype)  # grid units
            gain = torch.tensor([1, 1, nx, ny, nx, ny, 1], device=device, dtype=targets.dtype)
            t = t_all * gain
            if nt:
                ratio = t[..., 4:6] / anchors[:, None]
                t = t[torch.max(ratio, 1 / ratio).max(2)[0] < self.anchor_t]
                gxy = t[:, 2:4]
                gxi = gain[[2, 3]] - gxy
                j, k = ((gxy % 1 < g) & (gxy > 1)).T
                l_, m = ((gxi % 1 < g) & (gxi > 1)).T
                sel = torch.stack((torch.ones_like(j), j, k, l_, m))
                t = t.repeat((5, 1, 1))[sel]
                off = (torch.zeros_like(gxy)[None] + offsets[:, None])[sel]
            else:
                t, off = t_all[0][:0], 0
            b, c = t[:, 0].long(), t[:, 1].long()
            gxy, gwh, a = t[:, 2:4], t[:, 4:6], t[:, 6].long()
            gij = (gxy - off).long()
            gi, gj = gij[:, 0].clamp_(0, nx - 1), gij[:, 1].clamp_(0, ny - 1)
            out.append((c, torch.cat((gxy - torch.stack((gi, gj), 1), gwh), 1), (b, a, gj, gi), anchors[a]))
        return out
