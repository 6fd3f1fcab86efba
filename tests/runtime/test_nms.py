"""nms: equality with a plain Python greedy loop, edge cases and validation."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeyolo.runtime import nms


def _iou(a: list[float], b: list[float]) -> float:
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    area_a = max(a[2] - a[0], 0.0) * max(a[3] - a[1], 0.0)
    area_b = max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def reference_nms(boxes, scores, classes=None, iou_threshold=0.45, max_det=300) -> list[int]:
    """Textbook greedy NMS, one box at a time, in plain Python floats."""
    boxes = np.asarray(boxes, dtype=np.float64).tolist()
    scores = np.asarray(scores, dtype=np.float64).tolist()
    valid = [i for i in range(len(scores)) if all(map(np.isfinite, [*boxes[i], scores[i]]))]
    order = sorted(valid, key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if len(kept) == max_det:
            break
        if all(
            (classes is not None and classes[i] != classes[k]) or _iou(boxes[k], boxes[i]) <= iou_threshold
            for k in kept
        ):
            kept.append(i)
    return kept


def random_set(rng: np.random.Generator, n: int, grid: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes clustered so that many overlap; on a coarse grid, duplicates and exact ties are frequent."""
    centres = rng.uniform(0, 100, (max(1, n // 4), 2))
    c = centres[rng.integers(len(centres), size=n)] + rng.normal(0, 4, (n, 2))
    wh = rng.uniform(0, 30, (n, 2))
    boxes = np.concatenate([c - wh / 2, c + wh / 2], axis=1)
    scores = rng.uniform(0, 1, n)
    if grid:
        boxes = np.round(boxes / 2) * 2
        scores = np.round(scores * 8) / 8
    return boxes.astype(np.float32), scores.astype(np.float32), rng.integers(0, 3, n)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 120),
    grid=st.booleans(),
    class_aware=st.booleans(),
    iou=st.sampled_from([0.0, 0.3, 0.45, 0.5, 0.7, 1.0]),
    max_det=st.sampled_from([1, 5, 300]),
)
def test_nms_equals_reference(seed, n, grid, class_aware, iou, max_det):
    rng = np.random.default_rng(seed)
    boxes, scores, classes = random_set(rng, n, grid)
    cls = classes if class_aware else None
    got = nms(boxes, scores, cls, iou_threshold=iou, max_det=max_det)
    assert got.dtype == np.int64
    assert got.tolist() == reference_nms(boxes, scores, cls, iou, max_det)


@pytest.mark.parametrize("block", [4, 1024])
def test_blocks_and_many_boxes_equal_reference(monkeypatch, block):
    # Small blocks exercise the path where kept boxes from earlier blocks suppress later ones.
    monkeypatch.setattr(importlib.import_module("edgeyolo.runtime.nms"), "_BLOCK", block)
    rng = np.random.default_rng(7)
    boxes, scores, classes = random_set(rng, 400, grid=True)
    for cls in (None, classes):
        assert nms(boxes, scores, cls, 0.45, 60).tolist() == reference_nms(boxes, scores, cls, 0.45, 60)


def test_long_suppression_chain_equals_reference(monkeypatch):
    # A staircase where each box overlaps only the next: decided one link at a time (sequential pass).
    monkeypatch.setattr(importlib.import_module("edgeyolo.runtime.nms"), "_ROUNDS", 1)
    x = np.arange(40, dtype=np.float32) * 5
    boxes = np.stack([x, np.zeros_like(x), x + 10, np.full_like(x, 10)], axis=1)
    scores = np.linspace(1, 0.1, 40, dtype=np.float32)
    expected = reference_nms(boxes, scores, None, 0.3)
    assert nms(boxes, scores, None, 0.3).tolist() == expected
    assert expected == list(range(0, 40, 2))


def test_ties_keep_lower_index_first():
    boxes = np.array([[0, 0, 10, 10], [100, 100, 110, 110], [0, 0, 10, 10]], dtype=np.float32)
    scores = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    assert nms(boxes, scores).tolist() == [0, 1]


def test_strictly_greater_threshold():
    # IoU of these two boxes is exactly 0.5: kept at threshold 0.5, suppressed just below.
    boxes = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype=np.float32)
    scores = np.array([0.9, 0.8], dtype=np.float32)
    assert nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 1]
    assert nms(boxes, scores, iou_threshold=0.49).tolist() == [0]


def test_class_aware_keeps_overlapping_boxes_of_other_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    assert nms(boxes, scores).tolist() == [0]
    assert nms(boxes, scores, np.array([3, 5, 3])).tolist() == [0, 1]


def test_class_offsets_with_huge_coordinates_fall_back_exactly():
    boxes = np.array([[0, 0, 1e15, 1e15], [0, 0, 1e15, 1e15], [1, 1, 2, 2]], dtype=np.float64)
    scores = np.array([0.9, 0.8, 0.7])
    classes = np.array([0, 1, 0])
    assert nms(boxes, scores, classes).tolist() == reference_nms(boxes, scores, classes) == [0, 1, 2]
    # the fallback is taken: class offsets at this scale would exceed float64's exact range
    assert importlib.import_module("edgeyolo.runtime.nms")._class_offsets(boxes.T, classes) is None
    assert nms(boxes * 1e290, scores, classes).tolist() == [0, 1, 2]  # areas overflow to inf: still defined


def test_zero_area_and_inverted_boxes_never_suppress():
    boxes = np.array([[5, 5, 5, 5], [5, 5, 5, 5], [0, 0, 10, 10], [10, 10, 0, 0]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    assert nms(boxes, scores, iou_threshold=0.0).tolist() == [0, 1, 2, 3]


def test_empty_and_max_det():
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32)).dtype == np.int64
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32)).size == 0
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10000, 50).astype(np.float32)
    boxes = np.stack([x, x, x + 1, x + 1], axis=1)  # far apart: nothing suppressed
    scores = rng.uniform(0, 1, 50).astype(np.float32)
    assert nms(boxes, scores, max_det=7).tolist() == np.argsort(-scores, kind="stable")[:7].tolist()
    assert nms(boxes, scores, max_det=0).size == 0


def test_non_finite_rows_are_dropped_and_indices_refer_to_the_input():
    boxes = np.array(
        [[0, 0, 10, 10], [0, 0, np.nan, 10], [0, 0, 10, 10], [50, 50, np.inf, 60], [50, 50, 60, 60]],
        dtype=np.float32,
    )
    scores = np.array([0.5, 0.99, np.nan, 0.98, 0.4], dtype=np.float32)
    assert nms(boxes, scores).tolist() == [0, 4]
    assert nms(boxes[[1, 3]], scores[[1, 3]]).size == 0


@pytest.mark.parametrize(
    ("boxes", "scores", "classes", "kwargs", "match"),
    [
        (np.zeros((3, 5)), np.zeros(3), None, {}, r"boxes_xyxy must have shape \[N, 4\]"),
        (np.zeros(4), np.zeros(1), None, {}, r"boxes_xyxy must have shape \[N, 4\]"),
        (np.zeros((3, 4)), np.zeros(2), None, {}, r"scores must have shape \[N\] = \[3\]"),
        (np.zeros((3, 4)), np.zeros((3, 1)), None, {}, r"scores must have shape \[N\] = \[3\]"),
        (np.zeros((3, 4)), np.zeros(3), np.zeros(2, int), {}, r"class_ids must have shape \[N\] = \[3\]"),
        (np.zeros((2, 4)), np.zeros(2), None, {"iou_threshold": float("nan")}, "iou_threshold"),
        (np.zeros((2, 4)), np.zeros(2), None, {"iou_threshold": -0.1}, "iou_threshold"),
        (np.zeros((2, 4)), np.zeros(2), None, {"max_det": -1}, "max_det"),
    ],
)
def test_bad_shapes_raise_clear_errors(boxes, scores, classes, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nms(boxes, scores, classes, **kwargs)


def test_bad_dtypes_raise():
    with pytest.raises(TypeError, match="class_ids must be integers"):
        nms(np.zeros((2, 4)), np.zeros(2), np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match="real numeric"):
        nms(np.zeros((2, 4), dtype=complex), np.zeros(2))


def test_input_arrays_are_not_modified():
    rng = np.random.default_rng(3)
    boxes, scores, classes = random_set(rng, 50, grid=False)
    copies = boxes.copy(), scores.copy(), classes.copy()
    nms(boxes, scores, classes)
    for before, after in zip(copies, (boxes, scores, classes), strict=True):
        np.testing.assert_array_equal(before, after)
