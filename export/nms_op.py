"""ONNX `NonMaxSuppression` from torch, and packing its selections into `[B, max_det, 6]` + `num_dets`."""

from __future__ import annotations

import torch


class OnnxNonMaxSuppression(torch.autograd.Function):
    """Exports as one ONNX NonMaxSuppression node (per-class, corner boxes). The eager forward (the
    runtime's NMS) only gives tracing real values; exported results come from the ONNX node."""

    @staticmethod
    def forward(ctx, boxes, scores, max_per_class: int, iou: float, conf: float):  # type: ignore[override]
        from edgeyolo.runtime.nms import nms

        picked = []
        for b in range(boxes.shape[0]):
            cls, idx = torch.nonzero(scores[b] > conf, as_tuple=True)
            s = scores[b, cls, idx].numpy()
            limit = int(max_per_class) * int(scores.shape[1])
            keep = nms(boxes[b, idx].numpy(), s, cls.numpy(), iou, max_det=limit)
            picked.append(torch.stack((torch.full_like(cls[keep], b), cls[keep], idx[keep]), 1))
        return torch.cat(picked).reshape(-1, 3) if picked else torch.zeros(0, 3, dtype=torch.int64)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class: int, iou: float, conf: float):
        return g.op(
            "NonMaxSuppression",
            boxes,
            scores,
            g.op("Constant", value_t=torch.tensor([max_per_class], dtype=torch.int64)),
            g.op("Constant", value_t=torch.tensor([iou], dtype=torch.float32)),
            g.op("Constant", value_t=torch.tensor([conf], dtype=torch.float32)),
            center_point_box_i=0,
        )


def nms_outputs(
    pred: torch.Tensor, conf: float, iou: float, max_det: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`pred` [B, N, 5+nc] (decoded) → detections [B, max_det, 6] (x1, y1, x2, y2, score, class) sorted
    by score and zero-padded, and num_dets [B] (int64). Class-aware NMS on each box's best class,
    matching the runtime's decode + NMS."""
    pred = pred.float()  # ONNX NonMaxSuppression takes float32
    xy, wh = pred[..., :2], pred[..., 2:4]
    boxes = torch.cat((xy - wh / 2, xy + wh / 2), -1)
    scores = pred[..., 5:] * pred[..., 4:5]
    best, cls = scores.max(-1, keepdim=True)
    best_only = torch.zeros_like(scores).scatter(-1, cls, best)
    sel = OnnxNonMaxSuppression.apply(boxes, best_only.transpose(1, 2).contiguous(), max_det, iou, conf)
    b, c, i = sel[:, 0], sel[:, 1], sel[:, 2]
    det = torch.cat((boxes[b, i], best[b, i], c.unsqueeze(1).to(boxes.dtype)), 1)  # [K, 6]

    batch = torch.arange(pred.shape[0], device=pred.device).unsqueeze(1)
    sentinel = -torch.ones(pred.shape[0], max_det, dtype=boxes.dtype, device=boxes.device)
    pool_scores = torch.cat((torch.where(b.unsqueeze(0) == batch, det[:, 4].unsqueeze(0), -1.0), sentinel), 1)
    pool = torch.cat((det, torch.zeros(max_det, 6, dtype=det.dtype, device=det.device)), 0)
    top, idx = pool_scores.topk(max_det, dim=1)  # static k: the pool always holds >= max_det rows
    valid = top >= 0
    dets = pool[idx] * valid.unsqueeze(-1).to(det.dtype)
    return dets, valid.sum(1)
