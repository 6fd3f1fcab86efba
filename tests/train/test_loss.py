"""The YOLOv5 loss: ~0 for perfect predictions, large for wrong ones, and gradients that learn."""

from __future__ import annotations

import torch

from edgeyolo.models.yolo import create_model
from edgeyolo.train.loss import YoloLoss, bbox_ciou

IMGSZ = 128


def perfect_predictions(
    loss: YoloLoss, preds: list[torch.Tensor], targets: torch.Tensor
) -> list[torch.Tensor]:
    """Logits that decode exactly to the assigned targets, with certain objectness and class."""
    out = []
    for p, (cls, box, (b, a, gj, gi), anchors) in zip(preds, loss.build_targets(preds, targets), strict=True):
        bs, _, ny, nx = p.shape
        q = torch.full((bs, loss.na, loss.nc + 5, ny, nx), -30.0)
        logit = lambda v: torch.log(v / (1 - v))  # noqa: E731
        q[b, a, 0, gj, gi] = logit((box[:, 0] + 0.5) / 2)
        q[b, a, 1, gj, gi] = logit((box[:, 1] + 0.5) / 2)
        q[b, a, 2, gj, gi] = logit(torch.sqrt(box[:, 2] / anchors[:, 0]) / 2)
        q[b, a, 3, gj, gi] = logit(torch.sqrt(box[:, 3] / anchors[:, 1]) / 2)
        q[b, a, 4, gj, gi] = 30.0
        q[b, a, 5 + cls, gj, gi] = 30.0
        out.append(q.view(bs, -1, ny, nx))
    return out


def setup():
    model = create_model("yolov5n-mobilenetv2", nc=3).train()
    loss = YoloLoss(model.head, IMGSZ)
    # Two well-separated objects in image 0, one in image 1: (image, class, cx, cy, w, h) normalised.
    targets = torch.tensor(
        [[0, 0, 0.25, 0.30, 0.20, 0.25], [0, 2, 0.70, 0.70, 0.35, 0.30], [1, 1, 0.5, 0.5, 0.1, 0.12]]
    )
    preds = model(torch.rand(2, 3, IMGSZ, IMGSZ))
    return model, loss, targets, preds


def test_loss_is_zero_for_perfect_predictions() -> None:
    _, loss, targets, preds = setup()
    total, items = loss(perfect_predictions(loss, preds, targets), targets)
    assert total.item() < 1e-3, items
    wrong = targets.clone()
    wrong[:, 1] = (wrong[:, 1] + 1) % 3  # same boxes, wrong classes
    assert loss(perfect_predictions(loss, preds, wrong), targets)[1][2] > 1.0


def test_targets_use_neighbouring_cells_and_anchor_ratios() -> None:
    _, loss, targets, preds = setup()
    assigned = loss.build_targets(preds, targets)
    counts = [len(cls) for cls, *_ in assigned]
    assert sum(counts) > len(targets)  # several anchors and neighbouring cells per object
    for _cls, box, _, anchors in assigned:
        ratio = box[:, 2:4] / anchors
        assert (torch.max(ratio, 1 / ratio).max(1)[0] < 4.0).all()
        assert ((box[:, :2] > -0.5) & (box[:, :2] < 1.5)).all()  # reachable by 2*sigmoid - 0.5


def test_ciou_of_identical_boxes_is_one_and_drops_with_offset() -> None:
    a = torch.tensor([[10.0, 10.0, 4.0, 6.0], [0.0, 0.8, 3.2, 4.0]])  # the second rounds iou above 1
    assert torch.allclose(bbox_ciou(a, a), torch.ones(2), atol=1e-5)
    a = a[:1]
    assert bbox_ciou(a, a + torch.tensor([[1.0, 0, 0, 0]])) < 0.8


def test_a_few_steps_lower_the_loss() -> None:
    torch.manual_seed(0)
    model, loss, targets, _ = setup()
    images = torch.rand(2, 3, IMGSZ, IMGSZ)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(20):
        total, _ = loss(model(images), targets)
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.item())
    assert losses[-1] < 0.6 * losses[0], losses
