"""Augmentation: boxes follow the pixels through mosaic, affine and flips; determinism; filtering."""

from __future__ import annotations

import numpy as np
import pytest

from edgeyolo.data.augment import (
    AugmentConfig,
    box_candidates,
    flip_lr,
    flip_ud,
    hsv_jitter,
    mosaic4,
    random_affine,
    random_flips,
)
from edgeyolo.data.formats import DatasetError


def _image_with_rect(h: int, w: int, box: tuple[int, int, int, int], colour=(255, 255, 255)):
    img = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = colour
    return img, np.array([[1, x1, y1, x2, y2]], np.float32)


def _pixel_box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_flips_move_boxes_with_pixels() -> None:
    img, labels = _image_with_rect(40, 60, (5, 8, 20, 30))
    out, lab = flip_lr(img, labels)
    assert lab[0, 1:].tolist() == _pixel_box(out[..., 0] > 0) == [40, 8, 55, 30]
    out, lab = flip_ud(img, labels)
    assert lab[0, 1:].tolist() == _pixel_box(out[..., 0] > 0) == [5, 10, 20, 32]
    back, lab2 = flip_lr(*flip_lr(img, labels))
    assert np.array_equal(back, img) and np.array_equal(lab2, labels)


def test_random_flips_probabilities() -> None:
    img, labels = _image_with_rect(20, 20, (2, 3, 6, 9))
    rng = np.random.default_rng(0)
    flipped = [random_flips(img, labels, rng, 0.5, 0.0)[1][0, 1] != 2 for _ in range(200)]
    assert 60 < sum(flipped) < 140
    assert all(random_flips(img, labels, rng, 0.0, 0.0)[1][0, 1] == 2 for _ in range(20))
    assert all(random_flips(img, labels, rng, 0.0, 1.0)[1][0, 2] == 11 for _ in range(20))


@pytest.mark.parametrize("seed", range(6))
def test_affine_box_covers_the_warped_object(seed: int) -> None:
    img, labels = _image_with_rect(100, 140, (30, 20, 90, 70))
    out, lab = random_affine(img, labels, 64, np.random.default_rng(seed), AugmentConfig())
    assert out.shape == (64, 64, 3)
    mask = out[..., 0] > 127
    if not len(lab):
        assert mask.sum() < 0.1 * 60 * 50 * 0.25  # dropped only when mostly cut off
        return
    assert lab[0, 0] == 1
    np.testing.assert_allclose(lab[0, 1:], _pixel_box(mask), atol=1.0)


def test_rotated_affine_box_contains_the_object() -> None:
    img, labels = _image_with_rect(80, 80, (20, 30, 60, 50))
    cfg = AugmentConfig(degrees=30, scale=0.0, translate=0.0, shear=5)
    out, lab = random_affine(img, labels, 80, np.random.default_rng(3), cfg)
    x1, y1, x2, y2 = _pixel_box(out[..., 0] > 127)
    assert lab[0, 1] <= x1 + 1 and lab[0, 2] <= y1 + 1 and lab[0, 3] >= x2 - 1 and lab[0, 4] >= y2 - 1


def test_affine_drops_boxes_mostly_cut_off() -> None:
    cfg = AugmentConfig(scale=0.0, translate=0.0)  # unscaled, centred: a 32 px crop keeps [16, 48)
    corner, labels = _image_with_rect(64, 64, (0, 0, 6, 6))
    assert len(random_affine(corner, labels, 64, np.random.default_rng(0), cfg)[1]) == 1
    out, lab = random_affine(corner, labels, 32, np.random.default_rng(0), cfg)
    assert len(lab) == 0 and (out == 0).all()
    small, labels = _image_with_rect(64, 64, (0, 0, 20, 20))  # 4 % of it stays: dropped
    assert len(random_affine(small, labels, 32, np.random.default_rng(0), cfg)[1]) == 0
    large, labels = _image_with_rect(64, 64, (0, 0, 40, 40))  # 36 % stays: kept, clipped
    out, lab = random_affine(large, labels, 32, np.random.default_rng(0), cfg)
    assert lab[:, 1:].tolist() == [[0, 0, 24, 24]] == [_pixel_box(out[..., 0] > 127)]


def test_box_candidates_thresholds() -> None:
    labels = np.array(
        [[0, 0, 0, 10, 10], [0, 0, 0, 2, 10], [0, 0, 0, 10, 3], [0, 0, 0, 100, 4.5]], np.float32
    )
    before = np.array([100, 20, 30, 450], np.float32)
    assert box_candidates(labels, before).tolist() == [True, False, True, False]  # width 2 px; aspect 22
    assert box_candidates(labels[:1], np.array([1001], np.float32)).tolist() == [False]  # < 10 % left


def test_mosaic_labels_follow_each_tile() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    rects = [(10, 10, 50, 40), (5, 20, 60, 60), (0, 0, 30, 30), (40, 30, 64, 50)]
    for seed in range(16):
        images, labels = [], []
        for i, (c, r) in enumerate(zip(colours, rects, strict=True)):
            img, lab = _image_with_rect(50 + 4 * i, 64, r, c)
            lab[:, 0] = i
            images.append(img)
            labels.append(lab)
        canvas, out = mosaic4(images, labels, 64, np.random.default_rng(seed))
        assert canvas.shape == (128, 128, 3)
        for i, c in enumerate(colours):
            mask = (canvas == c).all(2)
            full = (rects[i][2] - rects[i][0]) * (rects[i][3] - rects[i][1])
            mine = out[out[:, 0] == i]
            if mask.sum() > 0.1 * full and min(np.ptp(np.nonzero(mask)[0]), np.ptp(np.nonzero(mask)[1])) > 3:
                assert len(mine) == 1, (seed, i)
                np.testing.assert_allclose(mine[0, 1:], _pixel_box(mask), atol=1.0)
            elif mask.sum() < 0.09 * full:
                assert len(mine) == 0, (seed, i)


def test_hsv_jitter() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    assert np.array_equal(hsv_jitter(img, rng, 0, 0, 0), img)
    a = hsv_jitter(img, np.random.default_rng(1), 0.015, 0.7, 0.4)
    b = hsv_jitter(img, np.random.default_rng(1), 0.015, 0.7, 0.4)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, img)


def test_config_from_dict() -> None:
    cfg = AugmentConfig.from_dict({"mosaic": 0, "fliplr": "0.25", "lr0": 0.01})
    assert cfg.mosaic == 0.0 and cfg.fliplr == 0.25 and cfg.scale == 0.5
    with pytest.raises(DatasetError):
        AugmentConfig.from_dict({"scale": "big"})
