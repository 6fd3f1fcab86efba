"""Detections: validation, indexing, JSON round trip and drawing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeyolo.runtime import Detections, draw_detections

NAMES = ("person", "car", "dog")


def make(n: int = 5, seed: int = 0) -> Detections:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 200, (n, 2))
    wh = rng.uniform(5, 60, (n, 2))
    return Detections(
        np.concatenate([xy, xy + wh], axis=1), rng.uniform(0, 1, n), rng.integers(0, 3, n), NAMES
    )


def test_coerces_dtypes_and_shapes():
    d = Detections([[0, 0, 1, 1]], [0.5], [2], ["a", "b", "c"])
    assert d.xyxy.dtype == np.float32 and d.confidence.dtype == np.float32 and d.class_id.dtype == np.int64
    assert d.names == ("a", "b", "c") and len(d) == 1
    assert d.class_id.tolist() == [2]
    d = Detections(np.zeros((2, 4)), np.zeros(2), np.array([1.0, 2.0]))
    assert d.class_id.tolist() == [1, 2] and d.names == ()
    empty = Detections([], [], [])
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((np.zeros((2, 5)), np.zeros(2), np.zeros(2, int)), ValueError, r"xyxy must have shape \[N, 4\]"),
        ((np.zeros((2, 4)), np.zeros(3), np.zeros(2, int)), ValueError, r"confidence must have shape \[2\]"),
        ((np.zeros((2, 4)), np.zeros(2), np.zeros(1, int)), ValueError, r"class_id must have shape \[2\]"),
        ((np.zeros((2, 4)), np.zeros(2), np.array([0.5, 1])), TypeError, "class_id must hold integers"),
        (
            (np.zeros((1, 4)), np.zeros(1), np.zeros(1, int), "abc"),
            TypeError,
            "names must be a sequence of str",
        ),
        (
            (np.zeros((1, 4)), np.zeros(1), np.zeros(1, int), (1, 2)),
            TypeError,
            "names must be a sequence of str",
        ),
    ],
)
def test_inconsistent_input_raises(args, exc, match):
    with pytest.raises(exc, match=match):
        Detections(*args)


def test_indexing():
    d = make(6)
    mask = d.confidence > 0.5
    sub = d[mask]
    assert isinstance(sub, Detections) and len(sub) == int(mask.sum()) and sub.names == NAMES
    np.testing.assert_array_equal(sub.xyxy, d.xyxy[mask])
    np.testing.assert_array_equal(d[1:4].class_id, d.class_id[1:4])
    np.testing.assert_array_equal(d[np.array([4, 0])].confidence, d.confidence[[4, 0]])
    np.testing.assert_array_equal(d[[5, 5]].xyxy, d.xyxy[[5, 5]])
    one = d[2]
    assert len(one) == 1 and one.xyxy.shape == (1, 4)
    np.testing.assert_array_equal(one.xyxy[0], d.xyxy[2])
    np.testing.assert_array_equal(d[-1].xyxy[0], d.xyxy[5])
    assert len(d[np.zeros(6, bool)]) == 0 and len(d[[]]) == 0
    with pytest.raises(IndexError, match="out of range"):
        d[6]
    with pytest.raises(IndexError, match=r"boolean mask must have shape \[6\]"):
        d[np.ones(5, bool)]
    with pytest.raises(IndexError, match="index must be"):
        d[np.array([0.5])]


def test_empty():
    e = Detections.empty(NAMES)
    assert len(e) == 0 and e.names == NAMES
    assert e.xyxy.shape == (0, 4) and e.xyxy.dtype == np.float32 and e.class_id.dtype == np.int64
    assert Detections.from_json(e.to_json()).names == NAMES


def test_json_round_trip_is_exact():
    d = make(20, seed=3)
    d.xyxy[0, 0] = np.nextafter(np.float32(0.1), np.float32(1))  # awkward float32 values survive
    d.confidence[1] = np.float32(1 / 3)
    text = d.to_json()
    back = Detections.from_json(text)
    np.testing.assert_array_equal(back.xyxy, d.xyxy)
    np.testing.assert_array_equal(back.confidence, d.confidence)
    np.testing.assert_array_equal(back.class_id, d.class_id)
    assert back.names == d.names
    record = json.loads(text)
    assert [r["name"] for r in record["detections"]] == [NAMES[c] for c in d.class_id]
    assert record["detections"][0]["xyxy"] == d.xyxy[0].tolist()


def test_json_names_for_unknown_classes_and_bad_records():
    d = Detections([[0, 0, 1, 1]], [0.5], [7])
    assert json.loads(d.to_json())["detections"][0]["name"] == "7"
    with pytest.raises(ValueError, match="not a Detections JSON record"):
        Detections.from_json('{"names": []}')
    with pytest.raises(ValueError, match="not a Detections JSON record"):
        Detections.from_json("[1, 2")
    with pytest.raises(ValueError, match="NaN or infinite"):
        Detections([[0, 0, np.nan, 1]], [0.5], [0]).to_json()


def test_draw_marks_boxes_with_class_colours_and_keeps_the_input():
    frame = np.zeros((120, 160, 3), np.uint8)
    d = Detections([[20, 30, 100, 90], [5, 5, 15, 15]], [0.9, 0.4], [0, 1], NAMES)
    out = draw_detections(frame, d)
    assert out is not frame and (frame == 0).all()
    assert out.shape == frame.shape and out.dtype == np.uint8
    # the box outline of class 0 is drawn in class 0's colour, which differs from class 1's
    c0, c1 = tuple(out[60, 20]), tuple(out[10, 5])
    assert c0 != (0, 0, 0) and c1 != (0, 0, 0) and c0 != c1
    assert (out[60, 60] == 0).all()  # inside the box stays untouched
    again = draw_detections(frame, d)
    np.testing.assert_array_equal(out, again)  # deterministic
    in_place = frame.copy()
    assert draw_detections(in_place, d, copy=False) is in_place and (in_place == out).all()


def test_draw_survives_odd_boxes_and_rejects_bad_frames():
    frame = np.zeros((50, 50, 3), np.uint8)
    d = Detections([[-1e9, -1e9, 1e9, 1e9], [10, 10, 20, 20], [np.nan, 0, 1, 1]], [0.5, 0.5, 0.5], [0, 99, 1])
    out = draw_detections(frame, d)
    assert out.any()
    with pytest.raises(TypeError, match="uint8 HxWx3 BGR"):
        draw_detections(np.zeros((50, 50), np.uint8), d)
    with pytest.raises(TypeError, match="uint8 HxWx3 BGR"):
        draw_detections(np.zeros((50, 50, 3), np.float32), d)
    with pytest.raises(ValueError, match="C-contiguous"):
        draw_detections(np.zeros((50, 50, 3), np.uint8)[:, ::-1], d, copy=False)


def test_tracker_id_is_validated_indexed_and_round_trips():
    d = Detections([[0, 0, 1, 1], [2, 2, 3, 3]], [0.5, 0.6], [0, 1], NAMES, [7, 9])
    assert d.tracker_id.dtype == np.int64
    assert d[1].tracker_id.tolist() == [9] and d[np.array([True, False])].tracker_id.tolist() == [7]
    back = Detections.from_json(d.to_json())
    assert back.tracker_id.tolist() == [7, 9]
    assert Detections.from_json(Detections([[0, 0, 1, 1]], [0.5], [0]).to_json()).tracker_id is None
    with pytest.raises(ValueError, match=r"tracker_id must have shape \[2\]"):
        Detections([[0, 0, 1, 1], [2, 2, 3, 3]], [0.5, 0.6], [0, 1], tracker_id=[1])
    with pytest.raises(TypeError, match="tracker_id must hold integers"):
        Detections([[0, 0, 1, 1]], [0.5], [0], tracker_id=[1.5])
    with pytest.raises(ValueError, match="some detections only"):
        Detections.from_json(
            '{"detections": [{"xyxy": [0,0,1,1], "confidence": 1, "class_id": 0, '
            '"tracker_id": 1}, {"xyxy": [0,0,1,1], "confidence": 1, "class_id": 0}]}'
        )
