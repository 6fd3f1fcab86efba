"""letterbox: exact output shape, YOLOv5 geometry, box round trips and input validation."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeyolo.runtime import LetterboxInfo, letterbox

sizes = st.integers(1, 4000)
targets = st.integers(1, 40).map(lambda k: 32 * k)


def _blank(h: int, w: int) -> np.ndarray:
    # broadcast view: no memory for big frames; letterbox must cope with its zero strides
    return np.broadcast_to(np.zeros(1, np.uint8), (h, w, 3))


@settings(max_examples=40, deadline=None)
@given(h=sizes, w=sizes, th=targets, tw=targets)
def test_output_is_exactly_the_requested_shape(h, w, th, tw):
    out, info = letterbox(_blank(h, w), (th, tw))
    assert out.shape == (th, tw, 3) and out.dtype == np.uint8
    assert info.new_shape == (th, tw) and info.orig_shape == (h, w)
    r = min(th / h, tw / w)
    assert info.ratio == r
    left, top = info.pad
    # the content is centred: the two borders differ by at most one pixel
    unpad_w, unpad_h = min(max(round(w * r), 1), tw), min(max(round(h * r), 1), th)
    assert abs((tw - unpad_w - left) - left) <= 1 and abs((th - unpad_h - top) - top) <= 1


@settings(max_examples=100, deadline=None)
@given(
    h=st.integers(8, 1200),
    w=st.integers(8, 1200),
    th=targets,
    tw=targets,
    box=st.tuples(*[st.floats(0.05, 0.95)] * 4),
)
def test_drawn_box_maps_back_to_its_original_coordinates(h, w, th, tw, box):
    fx1, fx2 = sorted(box[:2])
    fy1, fy2 = sorted(box[2:])
    x1, x2 = int(fx1 * w), max(int(fx2 * w), int(fx1 * w) + 1)
    y1, y2 = int(fy1 * h), max(int(fy2 * h), int(fy1 * h) + 1)
    img = np.zeros((h, w, 3), np.uint8)
    img[y1:y2, x1:x2] = 255  # pixels x1..x2-1: the box edges are x1 and x2 in pixel-edge coordinates
    out, info = letterbox(img, (th, tw))
    r = info.ratio
    if (x2 - x1) * r < 2 or (y2 - y1) * r < 2:
        return  # the box shrinks below two pixels: nothing reliable to find
    ys, xs = np.nonzero(out[..., 0] >= 128)  # pad is 114 and the background 0: only the box is bright
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=np.float32)
    expected = np.array([[x1, y1, x2, y2]], dtype=np.float32)
    np.testing.assert_allclose(info.to_letterbox(expected), found, atol=1.0)
    # back to the original: within one letterboxed pixel, i.e. 1 / ratio original pixels
    np.testing.assert_allclose(info.to_original(found), expected, atol=1.0 / r)


@settings(max_examples=50, deadline=None)
@given(h=sizes, w=sizes, th=targets, tw=targets, data=st.data())
def test_to_original_inverts_to_letterbox(h, w, th, tw, data):
    _, info = letterbox(_blank(h, w), (th, tw))
    x1, x2 = sorted(data.draw(st.tuples(st.floats(0, w), st.floats(0, w))))
    y1, y2 = sorted(data.draw(st.tuples(st.floats(0, h), st.floats(0, h))))
    boxes = np.array([[x1, y1, x2, y2]], dtype=np.float32)
    back = info.to_original(info.to_letterbox(boxes))
    np.testing.assert_allclose(back, boxes, rtol=1e-5, atol=1e-3 * max(1.0, 1 / info.ratio))


def test_yolov5_geometry_on_a_known_case():
    img = np.full((480, 640, 3), 7, np.uint8)
    out, info = letterbox(img, 640)
    assert info.ratio == 1.0 and info.pad == (0, 80)
    assert (out[:80] == 114).all() and (out[560:] == 114).all() and (out[80:560] == 7).all()
    out, info = letterbox(np.zeros((100, 301, 3), np.uint8), (64, 128))
    # r = 128/301; unpadded 128 x round(42.52) = 43; dh = 21 -> top 10, bottom 11
    assert info.pad == (0, 10) and out.shape == (64, 128, 3)
    assert (out[:10] == 114).all() and (out[53:] == 114).all() and (out[10:53] == 0).all()


def test_auto_pads_only_to_the_stride():
    out, info = letterbox(np.zeros((480, 640, 3), np.uint8), 640, auto=True)
    assert out.shape == (480, 640, 3) and info.pad == (0, 0) and info.new_shape == (480, 640)
    out, info = letterbox(np.zeros((500, 640, 3), np.uint8), 640, stride=32, auto=True)
    assert out.shape == (512, 640, 3) and info.pad == (0, 6)


def test_pad_value_and_no_aliasing():
    img = np.zeros((32, 32, 3), np.uint8)
    out, _ = letterbox(img, 32)
    out[:] = 1
    assert (img == 0).all()
    out, _ = letterbox(np.zeros((16, 32, 3), np.uint8), 32, pad_value=0)
    assert (out == 0).all()


def test_extreme_sizes():
    out, info = letterbox(np.full((1, 1, 3), 200, np.uint8), (64, 32))
    assert out.shape == (64, 32, 3) and (out[16:48] == 200).all()
    out, _ = letterbox(_blank(1, 4000), 32)
    assert out.shape == (32, 32, 3)
    out, info = letterbox(_blank(4320, 7680), 640)
    assert out.shape == (640, 640, 3) and info.ratio == 640 / 7680 and info.pad == (0, 140)


def test_gray_and_bgra_are_converted():
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    for img in (gray, gray[..., None]):
        out, _ = letterbox(img, 8)
        np.testing.assert_array_equal(out, np.repeat(gray[..., None], 3, axis=2))
    bgra = np.dstack([np.full((8, 8), v, np.uint8) for v in (10, 20, 30, 40)])
    out, _ = letterbox(bgra, 8)
    np.testing.assert_array_equal(out, cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR))
    assert out.shape == (8, 8, 3) and (out[..., 2] == 30).all()


def test_non_contiguous_input():
    img = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    flipped = img[:, ::-1]
    out, _ = letterbox(flipped, (40, 60))
    np.testing.assert_array_equal(out, np.ascontiguousarray(flipped))


@pytest.mark.parametrize(
    ("img", "exc", "match"),
    [
        (None, TypeError, "got None"),
        ([[1, 2], [3, 4]], TypeError, "numpy.ndarray, got list"),
        (np.zeros((0, 5, 3), np.uint8), ValueError, "non-empty"),
        (np.zeros((5, 0), np.uint8), ValueError, "non-empty"),
        (np.zeros((5, 5, 3), np.float32), TypeError, "only uint8 images are accepted"),
        (np.zeros((5, 5, 3), np.uint16), TypeError, "only uint8 images are accepted"),
        (np.zeros((5, 5, 2), np.uint8), ValueError, r"1, 3 \(BGR\) or 4 \(BGRA\) channels, got 2"),
        (np.zeros((5, 5, 5), np.uint8), ValueError, "channels, got 5"),
        (np.zeros((1, 5, 5, 3), np.uint8), ValueError, "got an array of shape"),
        (np.zeros(5, np.uint8), ValueError, "got an array of shape"),
    ],
)
def test_bad_images_raise_clear_errors(img, exc, match):
    with pytest.raises(exc, match=match):
        letterbox(img, 32)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"new_shape": 0}, ValueError, "new_shape must be positive"),
        ({"new_shape": (32, -1)}, ValueError, "new_shape must be positive"),
        ({"new_shape": (32, 32, 3)}, TypeError, "new_shape must be an int"),
        ({"new_shape": 32.0}, TypeError, "new_shape must be an int"),
        ({"new_shape": 32, "stride": 0}, ValueError, "stride"),
        ({"new_shape": 32, "pad_value": 300}, ValueError, "pad_value"),
    ],
)
def test_bad_arguments_raise(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        letterbox(np.zeros((4, 4, 3), np.uint8), **kwargs)


def test_info_is_frozen_and_to_original_validates_and_clips():
    _, info = letterbox(np.zeros((100, 200, 3), np.uint8), 100)
    assert isinstance(info, LetterboxInfo)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.ratio = 2.0  # type: ignore[misc]
    boxes = np.array([[-10, -10, 500, 500], [0, 25, 100, 75]], dtype=np.float64)
    copy = boxes.copy()
    back = info.to_original(boxes)
    np.testing.assert_array_equal(boxes, copy)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, [[0, 0, 200, 100], [0, 0, 200, 100]])
    assert info.to_original(np.zeros((0, 4))).shape == (0, 4)
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        info.to_original(np.zeros((3, 5)))
