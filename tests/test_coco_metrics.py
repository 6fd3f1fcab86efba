"""COCO mAP from ground truth and `Detections`: checked against pycocotools run directly on hand-made
COCO dicts, plus the edge cases (no detections, classes or images without ground truth)."""

from __future__ import annotations

import contextlib
import io
import json

import cv2
import numpy as np
import pytest

pytest.importorskip("pycocotools")
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from edgeyolo.coco_metrics import coco_map, ground_truth_coco, labels_to_pixels
from edgeyolo.data.formats import Sample
from edgeyolo.runtime.detections import Detections

NAMES = ["cat", "dog"]

# Two images, two classes, in pixels: rows are (class, x1, y1, x2, y2).
GT = [
    np.array([[0, 10, 10, 50, 60], [1, 100, 20, 180, 90], [0, 120, 5, 150, 40]], np.float64),
    np.array([[1, 0, 0, 40, 40], [0, 60, 60, 90, 95]], np.float64),  # the cat here is missed
]
# rows are (x1, y1, x2, y2, score, class)
DETS = [
    [
        (12, 11, 49, 62, 0.9, 0),  # true positive
        (100, 20, 175, 95, 0.8, 1),  # true positive
        (130, 50, 190, 95, 0.7, 0),  # false positive
        (119, 6, 151, 41, 0.3, 0),  # true positive with a low score
    ],
    [
        (2, 1, 41, 38, 0.95, 1),  # true positive
        (50, 50, 80, 80, 0.6, 1),  # false positive
    ],
]


def dets(rows) -> Detections:
    a = np.array(rows, np.float64).reshape(-1, 6)
    return Detections(a[:, :4], a[:, 4], a[:, 5].astype(np.int64), tuple(NAMES))


def perfect(gt: list[np.ndarray]) -> list[Detections]:
    return [
        Detections(g[:, 1:], np.linspace(0.9, 0.5, len(g)), g[:, 0].astype(np.int64), tuple(NAMES))
        for g in gt
    ]


def pycocotools_direct(gt: list[np.ndarray], det_rows) -> tuple[float, float]:
    """stats[0] and stats[1] of pycocotools on COCO dicts written out by hand (default parameters)."""
    images = [{"id": 101 + i, "height": 100, "width": 200} for i in range(len(gt))]
    anns, results = [], []
    for i, g in enumerate(gt):
        for c, x1, y1, x2, y2 in g.tolist():
            anns.append(
                {
                    "id": 1 + len(anns),
                    "image_id": 101 + i,
                    "category_id": 7 + int(c),  # ids of our own choosing: only their order matters
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    for i, rows in enumerate(det_rows):
        for x1, y1, x2, y2, s, c in rows:
            results.append(
                {"image_id": 101 + i, "category_id": 7 + c, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s}
            )
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": 7, "name": "cat"}, {"id": 8, "name": "dog"}],
        }
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])


def test_perfect_predictions_score_one() -> None:
    result = coco_map(GT, perfect(GT), NAMES)
    assert result.map50_95 == pytest.approx(1.0, abs=1e-12)
    assert result.map50 == pytest.approx(1.0, abs=1e-12)
    assert (result.images, result.instances, result.detections) == (2, 5, 5)
    assert [r["instances"] for r in result.per_class] == [3, 2]
    assert [r["images"] for r in result.per_class] == [2, 2]
    assert all(r["ap50_95"] == pytest.approx(1.0) for r in result.per_class)


def test_hand_made_case_matches_pycocotools() -> None:
    expected = pycocotools_direct(GT, DETS)
    result = coco_map(GT, [dets(r) for r in DETS], NAMES)
    assert 0 < result.map50_95 < result.map50 < 1
    assert result.map50_95 == pytest.approx(expected[0], abs=1e-9)
    assert result.map50 == pytest.approx(expected[1], abs=1e-9)
    # the per-class APs average to the headline number
    aps = [r["ap50_95"] for r in result.per_class]
    assert np.mean(aps) == pytest.approx(result.map50_95, abs=1e-12)


def test_shift_lowers_map50_95_but_not_map50() -> None:
    shifted = perfect(GT)
    shifted[0].xyxy[0] += np.array([4, 4, 4, 4], np.float32)  # 40x50 box moved by 4 px: IoU ~0.74
    result = coco_map(GT, shifted, NAMES)
    assert result.map50 == pytest.approx(1.0)
    assert result.map50_95 < 0.99
    rows = [
        [
            (*b, s, c)
            for b, s, c in zip(d.xyxy.tolist(), d.confidence.tolist(), d.class_id.tolist(), strict=True)
        ]
        for d in shifted
    ]
    assert result.map50_95 == pytest.approx(pycocotools_direct(GT, rows)[0], abs=1e-9)


def test_no_detections_gives_zero() -> None:
    result = coco_map(GT, [Detections.empty(tuple(NAMES))] * 2, NAMES)
    assert (result.map50_95, result.map50, result.detections) == (0.0, 0.0, 0)
    assert [r["ap50"] for r in result.per_class] == [0.0, 0.0]


def test_no_ground_truth_at_all() -> None:
    empty = [np.zeros((0, 5))] * 2
    result = coco_map(empty, [dets(r) for r in DETS], NAMES)
    assert (result.map50_95, result.map50, result.instances) == (0.0, 0.0, 0)
    assert all(r["ap50_95"] is None for r in result.per_class)


def test_class_without_ground_truth_is_excluded_and_shown_as_dash() -> None:
    names = [*NAMES, "bird"]
    preds = perfect(GT)
    bird = Detections([[1, 1, 30, 30]], [0.99], [2], tuple(names))  # a confident box of a class with no GT
    preds[0] = Detections(
        np.concatenate([preds[0].xyxy, bird.xyxy]),
        np.concatenate([preds[0].confidence, bird.confidence]),
        np.concatenate([preds[0].class_id, bird.class_id]),
        tuple(names),
    )
    result = coco_map(GT, preds, names)
    assert result.map50_95 == pytest.approx(1.0)
    assert result.per_class[2] == {"name": "bird", "images": 0, "instances": 0, "ap50_95": None, "ap50": None}
    table = result.format_table().splitlines()
    assert table[0].split() == ["Class", "Images", "Instances", "mAP50", "mAP50-95"]
    assert table[1].split() == ["all", "2", "5", "1.000", "1.000"]
    assert table[4].split() == ["bird", "0", "0", "-", "-"]
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["per_class"][2]["ap50"] is None


def test_false_positive_on_an_image_without_ground_truth_counts() -> None:
    gt = [*GT, np.zeros((0, 5))]
    preds = [*perfect(GT), Detections([[0, 0, 20, 20]], [0.99], [0], tuple(NAMES))]
    result = coco_map(gt, preds, NAMES)
    assert result.images == 3
    assert result.per_class[0]["ap50"] < 1.0  # the top-scored cat is a false positive
    assert result.per_class[1]["ap50"] == pytest.approx(1.0)


def test_max_det_limits_what_counts() -> None:
    # pycocotools applies maxDets per image and class: the first image's second cat no longer counts
    result = coco_map(GT, perfect(GT), NAMES, max_det=1)
    assert result.per_class[0]["ap50"] < 1.0
    assert result.per_class[1]["ap50"] == pytest.approx(1.0)


def test_ground_truth_coco_uses_original_pixels(tmp_path) -> None:
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((50, 100, 3), np.uint8))
    labels = np.array([[1, 0.5, 0.5, 0.2, 0.4]], np.float32)
    gt = ground_truth_coco([Sample(path, labels)], NAMES)
    assert gt["images"] == [{"id": 1, "height": 50, "width": 100}]
    (ann,) = gt["annotations"]
    assert ann["id"] == 1 and ann["category_id"] == 1 and ann["iscrowd"] == 0
    assert ann["bbox"] == pytest.approx([40, 15, 20, 20], abs=1e-4)
    assert ann["area"] == pytest.approx(400, abs=1e-3)
    assert [c["id"] for c in gt["categories"]] == [0, 1]
    np.testing.assert_allclose(labels_to_pixels(labels, (50, 100))[0], [1, 40, 15, 60, 35], atol=1e-4)
