"""ONNX `NonMaxSuppression` from torch, and packing its selections into `[B, max_det, 6]` + `num_dets`."""

from __future__ import annotations

import torch


class OnnxNonMaxSuppression(torch.autograd.Function):
    """Exports as one ONNX NonMaxSuppression node (per-class, corner boxes). The eager forward is a
    plain greedy reference so tracing has real values; it is never used for results."""

    @staticmethod
    def forward(ctx, boxes, scores, max_per_class: int, iou: float, conf: float):  # type: ignore[override]
        picked = []
        for b in range(boxes.shape[0]):
            for c in range(scores.shape[1]):
                s = scores[b, c]
                idx = torch.nonzero(s > conf).flatten()
                idx = idx[torch.argsort(s[idx], descending=True, stable=True)]
                kept: list[int] = []
                for i in idx.tolist():
                    if len(kept) >= max_per_class:
                        break
                    if kept and _iou(boxes[b, i], boxes[b, kept]).max() > iou:
                        continue
                    kept.append(i)
                picked += [[b, c, i] for i in kept]
        return torch.tensor(picked, dtype=torch.int64).reshape(-1, 3)

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


def _iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    lt = torch.maximum(box[:2], others[:, :2])
    rb = torch.minimum(box[2:], others[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda b: (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)  # noqa: E731
    return inter / (area(box) + area(others) - inter).clamp(min=1e-9)


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
