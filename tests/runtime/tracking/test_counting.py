"""Line and zone counting through the real tracker, on sequences built to break them."""

from __future__ import annotations

import numpy as np
import pytest

from edgeyolo.runtime import Detections, LineCounter, Tracker, TrackingError, ZoneCounter

LINE = ((0.0, 200.0), (400.0, 200.0))  # drawn left to right: moving down the image is "in"


def run(frames, counter, tracker=None):
    """Feed per-frame lists of (box, class) through a tracker into ``counter``."""
    tracker = tracker or Tracker(minimum_consecutive_frames=1)
    for objects in frames:
        boxes = np.array([b for b, _ in objects], np.float32).reshape(-1, 4)
        classes = np.array([c for _, c in objects], np.int64)
        counter.update(tracker.update(Detections(boxes, np.full(len(boxes), 0.9, np.float32), classes)))
    return counter


def box_at(cx, cy, size=30.0):
    return [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]


def path(y0, y1, steps, x=200.0):
    return [(x, y) for y in np.linspace(y0, y1, steps)]


def test_one_object_crossing_down_counts_once_in():
    c = run([[(box_at(x, y), 0)] for x, y in path(100, 300, 50)], LineCounter(*LINE))
    assert (c.in_count, c.out_count, c.counts) == (1, 0, {0: {"in": 1, "out": 0}})
    c = run([[(box_at(x, y), 2)] for x, y in path(300, 100, 50)], LineCounter(*LINE))
    assert (c.in_count, c.out_count, c.counts) == (0, 1, {2: {"in": 0, "out": 1}})


def test_flicker_on_the_line_counts_once():
    rng = np.random.default_rng(0)
    frames = []
    for x, y in path(150, 250, 20) + path(250, 250, 1):
        frames.append([(box_at(x, y), 0)])
        if 190 < y < 210:  # hovering on the line, seen every other frame, its box jittering
            for _ in range(30):
                frames.append([(box_at(x, 200 + rng.uniform(-3, 3)), 0)] if len(frames) % 2 else [])
    frames += [[(box_at(200, y), 0)] for y in np.linspace(250, 320, 10)]
    c = run(frames, LineCounter(*LINE))
    assert (c.in_count, c.out_count) == (1, 0)


def test_back_and_forth_jitter_across_the_line_counts_once():
    ys = (
        list(np.linspace(120, 200, 20))
        + [200 + 3.5 * (-1) ** k for k in range(40)]
        + list(np.linspace(200, 290, 20))
    )
    c = run([[(box_at(200, y), 0)] for y in ys], LineCounter(*LINE))
    assert (c.in_count, c.out_count) == (1, 0)


def test_a_three_frame_miss_during_the_crossing_counts_once():
    frames = [[(box_at(x, y), 0)] for x, y in path(120, 280, 33)]
    crossing = [i for i, (_, y) in enumerate(path(120, 280, 33)) if 185 <= y <= 215]
    for i in crossing[:3]:
        frames[i] = []
    c = run(frames, LineCounter(*LINE))
    assert (c.in_count, c.out_count) == (1, 0)


def test_two_objects_crossing_together_count_twice_by_class():
    frames = [[(box_at(180, y), 0), (box_at(215, y + 2), 1)] for y in np.linspace(120, 280, 40)]
    c = run(frames, LineCounter(*LINE))
    assert (c.in_count, c.out_count) == (2, 0)
    assert c.counts == {0: {"in": 1, "out": 0}, 1: {"in": 1, "out": 0}}


def test_a_crossing_counts_under_the_class_seen_most():
    frames = [[(box_at(200, y), 1 if k % 5 == 0 else 0)] for k, y in enumerate(np.linspace(120, 280, 40))]
    c = run(frames, LineCounter(*LINE))
    assert c.counts == {0: {"in": 1, "out": 0}}


def test_passing_beside_the_segment_and_coming_back_count_right():
    c = run([[(box_at(600, y), 0)] for y in np.linspace(120, 280, 40)], LineCounter(*LINE))
    assert (c.in_count, c.out_count) == (0, 0)
    ys = list(np.linspace(120, 280, 30)) + list(np.linspace(280, 120, 30))
    c = run([[(box_at(100, y), 0)] for y in ys], LineCounter(*LINE))
    assert (c.in_count, c.out_count) == (1, 1)


def test_lines_that_cannot_count_are_refused():
    with pytest.raises(TrackingError, match="zero length"):
        LineCounter((5, 5), (5, 5))
    with pytest.raises(TrackingError, match="finite"):
        LineCounter((0, np.nan), (5, 5))
    line = LineCounter((-50, -10), (-10, -50))
    with pytest.raises(TrackingError, match="outside the 640x480 frame"):
        line.check_frame(640, 480)
    LineCounter((-50, 100), (700, 100)).check_frame(640, 480)  # crosses the frame: fine
    with pytest.raises(TrackingError, match="tracked detections"):
        LineCounter(*LINE).update(Detections.empty())


def test_zone_occupancy_dwell_and_flicker():
    square = [(100, 100), (300, 100), (300, 300), (100, 300)]
    zone = ZoneCounter(square, max_missing=3, frame_rate=10)
    tracker = Tracker(minimum_consecutive_frames=1)
    for f in range(30):
        boxes = [box_at(150 + 2 * f, 200), box_at(400, 50)]  # one walks inside, one stays outside
        if f in (10, 11):  # the inner one is missed for two frames
            d = Detections(np.array([boxes[1]], np.float32), [0.9], [0])
        else:
            d = Detections(np.array(boxes, np.float32), [0.9, 0.9], [2, 0])
        inside = zone.update(tracker.update(d))
    assert inside.tolist() == [True, False]
    assert zone.occupancy == {2: 1} and zone.count == 1 and zone.entered == 1
    ((tid, frames),) = zone.dwell_frames().items()
    assert frames == 29 and zone.dwell_seconds()[tid] == pytest.approx(2.9)


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (10, 10)], "at least 3"),
        ([(0, 0), (10, 10), (20, 20)], "zero area"),
        ([(0, 0), (10, 10), (10, 0), (0, 10)], "intersects itself"),
        ([(0, 0), (10, np.inf), (10, 0)], "finite"),
        ("not points", "x, y points"),
    ],
)
def test_bad_polygons_are_refused(polygon, message):
    with pytest.raises(TrackingError, match=message):
        ZoneCounter(polygon)
