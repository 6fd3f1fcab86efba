"""Tracker: identities that persist, determinism, options, and the bad input the runtime must survive."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgeyolo.runtime import Detections, Tracker, TrackingError


def frame_of(boxes, conf=0.9, classes=0) -> Detections:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    n = len(boxes)
    return Detections(boxes, np.broadcast_to(np.float32(conf), n).copy(), np.broadcast_to(classes, n).copy())


def moving(frames: int, starts, velocity, size=30.0):
    """Boxes of objects moving at constant velocity, one list per frame."""
    starts = np.asarray(starts, np.float64)
    out = []
    for f in range(frames):
        c = starts + f * np.asarray(velocity, np.float64)
        out.append(np.concatenate([c - size / 2, c + size / 2], 1))
    return out


def test_identities_persist_and_are_deterministic():
    seq = moving(40, [[50, 50], [300, 200], [100, 300]], [[4, 1], [-3, 2], [2, -1]])
    runs = []
    for _ in range(2):
        tracker = Tracker(frame_rate=30)
        runs.append([tracker.update(frame_of(b)).tracker_id.tolist() for b in seq])
    assert runs[0] == runs[1]
    assert runs[0][0] == []  # a track gets its identity on its second matched frame
    assert all(ids == [0, 1, 2] for ids in runs[0][1:])
    tracker.reset()
    assert tracker.update(frame_of(seq[0])).tracker_id.tolist() == []
    assert sorted(tracker.update(frame_of(seq[1])).tracker_id.tolist()) == [0, 1, 2]


def test_output_keeps_input_order_and_fields():
    tracker = Tracker(minimum_consecutive_frames=1)
    names = ("a", "b")
    boxes = [[10, 10, 40, 40], [100, 100, 140, 150]]
    for _ in range(3):
        d = Detections(np.array(boxes, np.float32), [0.9, 0.8], [1, 0], names)
        out = tracker.update(d)
    np.testing.assert_array_equal(out.xyxy, d.xyxy)
    assert out.names == names and out.class_id.tolist() == [1, 0]
    assert out.tracker_id.dtype == np.int64 and out.tracker_id.tolist() == [0, 1]
    assert '"tracker_id": 0' in out.to_json()
    back = Detections.from_json(out.to_json())
    assert back.tracker_id.tolist() == [0, 1]
    empty = tracker.update(Detections.empty(names))
    assert len(empty) == 0 and empty.tracker_id.shape == (0,)
    assert Detections.from_json(empty.to_json()).tracker_id.shape == (0,)


def test_a_lost_track_comes_back_with_its_identity_then_expires():
    seq = moving(60, [[100, 100]], [[3, 0]])
    tracker = Tracker(lost_track_buffer=10)
    ids = [
        tracker.update(frame_of(b if not 20 <= f < 28 else np.empty((0, 4)))).tracker_id
        for f, b in enumerate(seq)
    ]
    assert set(np.concatenate(ids).tolist()) == {0}  # 8 missed frames < 10: same identity
    tracker = Tracker(lost_track_buffer=5)
    ids = [
        tracker.update(frame_of(b if not 20 <= f < 28 else np.empty((0, 4)))).tracker_id
        for f, b in enumerate(seq)
    ]
    assert set(np.concatenate(ids).tolist()) == {0, 1}


def test_class_flicker_keeps_the_identity_and_strict_matching_does_not():
    seq = moving(20, [[100, 100]], [[3, 0]])
    classes = [0] * 20
    classes[10] = 3  # one frame misclassified
    for weight, at_flicker in ((0.5, [0]), (0.0, [])):
        tracker = Tracker(class_mismatch_weight=weight, minimum_consecutive_frames=1)
        ids = [
            tracker.update(frame_of(b, classes=c)).tracker_id.tolist()
            for b, c in zip(seq, classes, strict=True)
        ]
        assert ids[10] == at_flicker, weight  # strict: the misclassified box is another object
        assert all(i == [0] for i in ids[1:10] + ids[11:]), weight


def test_two_classes_on_one_object_give_one_identity():
    seq = moving(10, [[100, 100]], [[3, 0]])
    tracker = Tracker(minimum_consecutive_frames=1)
    for b in seq:
        d = Detections(np.concatenate([b, b + 1]).astype(np.float32), [0.9, 0.5], [0, 1])
        out = tracker.update(d)
    assert out.class_id.tolist() == [0] and out.tracker_id.tolist() == [0]


def test_nan_infinite_and_empty_boxes_get_no_identity():
    tracker = Tracker(minimum_consecutive_frames=1)
    bad = [[np.nan, 0, 10, 10], [0, 0, np.inf, 10], [5, 5, 5, 20], [30, 30, 20, 40], [100, 100, 130, 130]]
    for _ in range(3):
        out = tracker.update(frame_of(bad))
    assert out.tracker_id.tolist() == [0] and out.xyxy[0].tolist() == [100, 100, 130, 130]
    d = Detections(np.array([[0, 0, 10, 10]], np.float32), [np.nan], [0])
    assert len(tracker.update(d)) == 0


def test_ten_thousand_boxes_then_nothing_stays_bounded():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 4000, (10_000, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (10_000, 2))], 1)
    conf = rng.uniform(0.1, 1.0, 10_000).astype(np.float32)
    tracker = Tracker(max_detections=500, lost_track_buffer=3)
    for _ in range(2):
        out = tracker.update(Detections(boxes.astype(np.float32), conf, np.zeros(10_000, np.int64)))
    assert 0 < len(out) <= 500
    assert np.all(out.confidence >= np.sort(conf)[-500])  # the most confident are the ones tracked
    impl = tracker._impl
    assert len(impl) <= 2 * 500
    for _ in range(5):  # an empty frame after a crowded one; lost tracks go after the buffer
        assert len(tracker.update(Detections.empty())) == 0
    assert len(impl) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "sort"}, "method must be one of bytetrack"),
        ({"lost_track_buffr": 3}, "no option lost_track_buffr"),
        ({"frame_rate": 0}, "frame_rate must be a positive number"),
        ({"frame_rate": float("nan")}, "frame_rate must be a positive number"),
        ({"track_activation_threshold": 1.5}, r"track_activation_threshold must be a number in \[0, 1\]"),
        ({"lost_track_buffer": -1}, "lost_track_buffer must be an integer"),
        ({"minimum_consecutive_frames": 0}, "minimum_consecutive_frames must be an integer ≥ 1"),
        ({"max_detections": 2.5}, "max_detections must be an integer"),
    ],
)
def test_bad_options_name_the_field(kwargs, message):
    with pytest.raises(TrackingError, match=message):
        Tracker(**kwargs)


def test_update_takes_detections():
    with pytest.raises(TypeError, match="Detections of one frame"):
        Tracker().update(np.zeros((2, 4)))


def test_missing_scipy_names_the_extra():
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "from edgeyolo.runtime import Detections, Tracker\n"
        "from edgeyolo.errors import MissingDependencyError\n"
        "t = Tracker()\n"
        "d = Detections([[0, 0, 10, 10]], [0.9], [0])\n"
        "t.update(d)\n"
        "try:\n    t.update(d)\nexcept MissingDependencyError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install 'edgeyolo[track]'" in out.stdout, out.stderr


def test_huge_finite_boxes_and_gaps_do_not_break_the_filter():
    big = np.float32(3e38)
    boxes = np.array([[-big, -big, big, big], [0, 0, 10, 10], [1e30, 1e30, 2e30, 2e30]], np.float32)
    tracker = Tracker(minimum_consecutive_frames=1)
    for k in range(40):
        out = tracker.update(frame_of(boxes if k % 3 else np.empty((0, 4))))
        if k % 3 and k > 1:
            assert sorted(out.tracker_id.tolist()) == [0, 1, 2]
