"""Drawing identities, trails, lines and zones."""

from __future__ import annotations

import numpy as np

from edgeyolo.runtime import (
    Detections,
    LineCounter,
    Trails,
    ZoneCounter,
    draw_detections,
    draw_line_counter,
    draw_zone_counter,
)
from edgeyolo.runtime.annotate import class_color


def tracked(boxes, ids, classes=None) -> Detections:
    boxes = np.asarray(boxes, np.float32)
    classes = np.zeros(len(boxes), np.int64) if classes is None else classes
    return Detections(boxes, np.full(len(boxes), 0.9, np.float32), classes, ("shape",), np.asarray(ids))


def same_hue(pixel, colour) -> bool:
    """The outline's pixel is the colour, dimmed by anti-aliasing."""
    p, c = np.asarray(pixel, float), np.asarray(colour, float)
    return bool(p.max() > 0 and np.allclose(p / p.max(), c / c.max(), atol=0.05))


def test_tracked_boxes_are_coloured_and_labelled_by_identity():
    frame = np.zeros((120, 160, 3), np.uint8)
    out = draw_detections(frame, tracked([[20, 60, 60, 100], [90, 60, 130, 100]], [3, 4]))
    assert same_hue(out[80, 20], class_color(3)) and same_hue(out[80, 90], class_color(4))
    plain = draw_detections(frame, Detections([[20, 60, 60, 100]], [0.9], [0]))
    assert same_hue(plain[80, 20], class_color(0)) and not same_hue(plain[80, 20], class_color(3))


def test_trails_follow_identities_and_forget_old_ones():
    trails = Trails(length=5, forget_after=3)
    for x in range(10, 60, 5):
        trails.update(tracked([[x, 40, x + 10, 50]], [7]))
    frame = trails.draw(np.zeros((100, 100, 3), np.uint8))
    assert (frame[45, 40:60] != 0).any() and not (frame[45, :25] != 0).any()  # only the last 5 points
    for _ in range(4):
        trails.update(tracked(np.empty((0, 4)), np.empty(0, np.int64)))
    assert not trails.draw(np.zeros((100, 100, 3), np.uint8)).any()
    trails.update(Detections([[0, 0, 5, 5]], [0.9], [0]))  # untracked: ignored, no error


def test_lines_and_zones_are_drawn_even_far_outside_the_frame():
    frame = np.zeros((100, 100, 3), np.uint8)
    line = LineCounter((10, 50), (90, 50))
    assert draw_line_counter(frame, line).any()
    assert draw_zone_counter(frame, ZoneCounter([(10, 10), (60, 10), (60, 60)])).any()
    draw_line_counter(frame, LineCounter((-1e12, 5), (1e12, 5)))
    assert not frame.any()  # drawing copies by default
