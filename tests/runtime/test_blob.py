"""`to_blob`: the model input tensor, value for value what cv2's blob routine gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgeyolo.runtime.blob import to_blob


@pytest.mark.parametrize("shape", [(1, 1, 3), (64, 96, 3), (97, 33, 3)])
def test_equals_cv2_blob(shape: tuple[int, int, int]) -> None:
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    blob = to_blob(img)
    expected = cv2.dnn.blobFromImage(img, scalefactor=1 / 255.0, swapRB=True)
    assert blob.dtype == np.float32 and blob.flags.c_contiguous
    assert blob.shape == (1, 3, *shape[:2])
    np.testing.assert_array_equal(blob, expected)


def test_channels_are_rgb_and_the_image_is_untouched() -> None:
    img = np.zeros((4, 5, 3), np.uint8)
    img[..., 0], img[..., 2] = 255, 51  # blue, red
    before = img.copy()
    blob = to_blob(img)
    assert blob[0, 0].max() == pytest.approx(0.2) and blob[0, 2].min() == 1.0 and not blob[0, 1].any()
    np.testing.assert_array_equal(img, before)


def test_a_non_contiguous_view_gives_the_same_tensor() -> None:
    img = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    view = np.ascontiguousarray(img[:, ::-1])[:, ::-1]  # same pixels, negative stride
    np.testing.assert_array_equal(to_blob(view), to_blob(img))


def test_half_precision_is_the_rounded_float32_tensor() -> None:
    img = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    half = to_blob(img, np.float16)
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, to_blob(img).astype(np.float16))
