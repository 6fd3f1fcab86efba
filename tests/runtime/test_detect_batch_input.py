"""`Detector.detect_batch` takes any iterable of frames and refuses everything else with a message
(issue 17: one HxWx3 array used to come back as 480 results, one per image row)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from edgeyolo.defaults import shipped_onnx
from edgeyolo.runtime import Detector


@pytest.fixture(scope="module")
def detector():
    with Detector(shipped_onnx()) as det:
        yield det


def frames(n: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (48 + 8 * i, 64, 3), dtype=np.uint8) for i in range(n)]


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x.xyxy, y.xyxy) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((480, 640, 3), np.uint8), r"got one array of shape \(480, 640, 3\): for a single frame"),
        (np.zeros((480, 640), np.uint8), r"got one array of shape \(480, 640\)"),
        (None, "got NoneType"),
        (3, "got int"),
        ("frame.jpg", "got str"),
        (b"\xff\xd8", "got bytes"),
        ({"cam0": np.zeros((8, 8, 3), np.uint8)}, r"got a dict; pass list\(d.values\(\)\)"),
        ({1, 2}, "as a numpy.ndarray, got int"),
        ([np.zeros((8, 8, 3), np.uint8), None], "got None"),
        ([[0, 0, 0]], "as a numpy.ndarray, got list"),
    ],
)
def test_refused_with_a_message(detector: Detector, bad, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        detector.detect_batch(bad)


def test_any_iterable_of_frames(detector: Detector) -> None:
    images = frames()
    expected = detector.detect_batch(images)
    assert len(expected) == 2
    assert same(detector.detect_batch(iter(images)), expected)
    assert same(detector.detect_batch(f for f in images), expected)
    assert same(detector.detect_batch(tuple(images)), expected)
    assert same(detector.detect_batch(collections.deque(images)), expected)
    assert detector.detect_batch(iter([])) == []


def test_a_stack_of_frames_is_a_batch(detector: Detector) -> None:
    stack = np.stack([frames(1)[0]] * 3)
    result = detector.detect_batch(stack)
    assert len(result) == 3 and same(result, detector.detect_batch(list(stack)))
