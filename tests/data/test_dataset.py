"""YoloDataset and collate: runtime-exact letterboxing, augmented batches, bad data, DataLoader workers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from edgeyolo.data.augment import AugmentConfig
from edgeyolo.data.dataset import EpochSampler, YoloDataset, _available_memory, _cgroup_room, collate
from edgeyolo.data.formats import Sample, load_data_yaml, load_split
from edgeyolo.runtime.letterbox import letterbox

NC = 3
# (h, w, class, pixel box) of each image: one bright rectangle on a dark background
IMAGES = [
    (60, 100, 0, (10, 5, 40, 35)),
    (100, 50, 1, (20, 60, 45, 95)),
    (64, 64, 2, (0, 0, 64, 20)),
    (30, 90, 1, (60, 10, 88, 29)),
    (75, 75, 0, (30, 30, 50, 50)),
]


def _write_dataset(root: Path) -> Path:
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    for n, (h, w, cls, (x1, y1, x2, y2)) in enumerate(IMAGES):
        img = np.full((h, w, 3), 30, np.uint8)
        img[y1:y2, x1:x2] = (200, 220, 240)
        cv2.imwrite(str(root / "images" / "train" / f"{n}.png"), img)
        cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
        (root / "labels" / "train" / f"{n}.txt").write_text(f"{cls} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}\n")
    (root / "data.yaml").write_text("names: [a, b, c]\ntrain: images/train\nval: images/train\n")
    return root / "data.yaml"


@pytest.fixture
def samples(tmp_path: Path) -> list[Sample]:
    return load_split(load_data_yaml(_write_dataset(tmp_path)), "train")


def _box_of_bright_pixels(image: torch.Tensor) -> list[int]:
    ys, xs = np.nonzero(image.numpy().max(0) > 0.5)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_plain_items_are_letterboxed_like_the_runtime(samples: list[Sample]) -> None:
    ds = YoloDataset(samples, 64, augment=False)
    for i, (h, w, cls, _) in enumerate(IMAGES):
        image, targets, path, info = ds[i]
        assert image.shape == (3, 64, 64) and image.dtype == torch.float32
        expected, lb = letterbox(cv2.imread(path), 64)
        rgb = np.round(image.numpy().transpose(1, 2, 0)[..., ::-1] * 255).astype(np.uint8)
        assert np.array_equal(rgb, expected)
        assert info == {"orig_shape": (h, w), "ratio": lb.ratio, "pad": lb.pad}
        assert targets.shape == (1, 6) and targets.dtype == torch.float32
        assert targets[0, :2].tolist() == [0, cls]
        cx, cy, bw, bh = (targets[0, 2:] * 64).tolist()
        mapped = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]
        np.testing.assert_allclose(mapped, _box_of_bright_pixels(image), atol=1.0)


def test_augmented_batches(samples: list[Sample]) -> None:
    ds = YoloDataset(samples, 64, augment=True, seed=1)
    images, targets, paths, infos = collate([ds[i] for i in range(len(ds))])
    assert images.shape == (5, 3, 64, 64) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert targets.ndim == 2 and targets.shape[1] == 6 and targets.dtype == torch.float32
    assert len(targets) > 0 and len(paths) == len(infos) == 5
    assert set(targets[:, 0].long().tolist()) <= set(range(5))
    assert ((targets[:, 1] >= 0) & (targets[:, 1] < NC) & (targets[:, 1] == targets[:, 1].round())).all()
    cx, cy, w, h = targets[:, 2:].T
    eps = 1e-5
    assert (w > 0).all() and (h > 0).all()
    assert (cx - w / 2 >= -eps).all() and (cx + w / 2 <= 1 + eps).all()
    assert (cy - h / 2 >= -eps).all() and (cy + h / 2 <= 1 + eps).all()


def test_augmentation_depends_on_seed_epoch_and_index_only(samples: list[Sample]) -> None:
    ds = YoloDataset(samples, 64, augment=True, seed=7)
    a = ds[2]
    ds[0], ds[4]  # other items do not disturb item 2
    assert torch.equal(ds[2][0], a[0]) and torch.equal(ds[2][1], a[1])
    ds.set_epoch(1)
    assert not torch.equal(ds[2][0], a[0])


def test_augmented_boxes_follow_the_object_without_mosaic(samples: list[Sample]) -> None:
    hyp = AugmentConfig(mosaic=0.0)
    for seed in range(4):
        ds = YoloDataset(samples, 64, augment=True, hyp=hyp, seed=seed)
        for i, (_, _, cls, _) in enumerate(IMAGES):
            image, targets, path, _ = ds[i]
            assert path.endswith(f"{i}.png")
            value = image.numpy().max(0)  # HSV value: the rectangle stays the brightest thing
            bright = value > 0.75 * value.max()
            if not len(targets):
                assert bright.sum() < 20
                continue
            assert targets[:, 1].tolist() == [cls]
            cx, cy, bw, bh = (targets[0, 2:] * 64).tolist()
            ys, xs = np.nonzero(bright)
            got = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]
            np.testing.assert_allclose(got, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=1.5)


def test_bad_label_lines_are_reported_once_each(tmp_path: Path) -> None:
    spec = load_data_yaml(_write_dataset(tmp_path))
    label = tmp_path / "labels" / "train" / "0.txt"
    label.write_text(
        label.read_text()
        + "1 0.5 0.5 0.2\n"  # 4 columns
        + "7 0.5 0.5 0.2 0.2\n"  # class out of range
        + "1 0.5 1.5 0.2 0.2\n"  # coordinate > 1
        + "1 0.5 abc 0.2 0.2\n"  # not a number
    )
    problems: list[str] = []
    samples = load_split(spec, "train", problems.append)
    assert len(problems) == 4
    assert [p.split(": ")[0] for p in problems] == [f"{label}:{n}" for n in (2, 3, 4, 5)]
    assert len(samples[0].labels) == 1
    _, targets, _, _ = YoloDataset(samples, 64, augment=False)[0]
    assert targets[:, 1].tolist() == [0]


def test_unreadable_image_is_reported_once_and_skipped(samples: list[Sample]) -> None:
    samples[1].image.write_bytes(b"not a png at all")
    problems: list[str] = []
    ds = YoloDataset(samples, 64, augment=False, report=problems.append)
    _, _, path, _ = ds[1]
    assert path == str(samples[2].image)
    ds[1]
    aug = YoloDataset(samples, 64, augment=True, report=problems.append)
    [aug[i] for i in range(len(aug))]
    assert problems == [f"{samples[1].image}: cannot read image (missing or corrupt); skipped"] * 2


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_epoch(samples: list[Sample], workers: int) -> None:
    ds = YoloDataset(samples, 64, augment=True, seed=3)
    ds.set_epoch(2)
    loader = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=collate)
    batches = list(loader)
    assert [len(b[2]) for b in batches] == [2, 2, 1]
    reference = collate([ds[i] for i in range(4)])
    assert torch.equal(torch.cat([batches[0][0], batches[1][0]]), reference[0])


def test_persistent_workers_see_every_epoch(samples: list[Sample]) -> None:
    ds = YoloDataset(samples, 64, augment=True, seed=3)
    sampler = EpochSampler(len(ds), seed=3)
    loader = DataLoader(
        ds, batch_size=5, sampler=sampler, num_workers=1, collate_fn=collate, persistent_workers=True
    )
    seen = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        images, _, paths, _ = next(iter(loader))
        order = [p for _, p in sampler]  # the indices this epoch was given, in order
        expected = collate([ds[(epoch, i)] for i in order])
        assert paths == expected[2] and torch.equal(images, expected[0])
        seen.append(images[np.argsort(order)])
    assert not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])


def test_epoch_sampler_is_a_seeded_permutation_per_epoch() -> None:
    a, b = EpochSampler(50, seed=1), EpochSampler(50, seed=1)
    orders = []
    for epoch in range(3):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        keys = list(a)
        assert keys == list(b) and len(a) == 50
        assert {e for e, _ in keys} == {epoch} and sorted(i for _, i in keys) == list(range(50))
        orders.append([i for _, i in keys])
    assert len({tuple(order) for order in orders}) == 3
    plain = EpochSampler(4, shuffle=False)
    assert list(plain) == [(0, 0), (0, 1), (0, 2), (0, 3)]


def test_cached_items_equal_items_read_from_disk(samples: list[Sample]) -> None:
    hyp = AugmentConfig(mosaic=0.5)
    cached = YoloDataset(samples, 64, augment=True, hyp=hyp, seed=5)
    from_disk = YoloDataset(samples, 64, augment=True, hyp=hyp, seed=5)
    assert cached.cache_images() == len(samples)
    expected = []
    for epoch in range(3):
        from_disk.set_epoch(epoch)
        expected.append([from_disk[i] for i in range(len(samples))])
    for sample in samples:
        sample.image.unlink()  # from here on only the cache can serve the images
    for epoch, items in enumerate(expected):
        cached.set_epoch(epoch)
        for i, (image, targets, path, _) in enumerate(items):
            got = cached[i]  # the cached arrays are read-only: an in-place augmentation would raise
            assert torch.equal(got[0], image) and torch.equal(got[1], targets) and got[2] == path
    loader = DataLoader(cached, batch_size=len(samples), num_workers=1, collate_fn=collate)
    images, *_ = next(iter(loader))  # a worker process serves the same items from its copy of the cache
    assert torch.equal(images, collate(expected[-1])[0])


def test_cache_is_read_only_and_respects_its_budget(samples: list[Sample]) -> None:
    problems: list[str] = []
    ds = YoloDataset(samples, 64, augment=False, report=problems.append)
    one_image = cv2.imread(str(samples[0].image)).nbytes
    assert ds.cache_images(max_bytes=one_image) == 1
    assert len(problems) == 1 and problems[0].startswith("image cache stopped at 1/5 images")
    assert "MiB reached" in problems[0]  # small budgets in MiB, not "0.0 GiB"
    with pytest.raises(ValueError, match="read-only"):
        ds._cache[0][0, 0] = 0
    assert ds.cache_images(max_bytes=one_image) == 1  # what is already held counts against the budget


def test_cgroup_room_is_limit_minus_usage(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("1073741824\n")
    (tmp_path / "memory.current").write_text("268435456\n")
    assert _cgroup_room("memory.max", "memory.current", root=tmp_path) == 768 * 2**20
    (tmp_path / "memory.max").write_text("max\n")
    assert _cgroup_room("memory.max", "memory.current", root=tmp_path) is None
    assert _cgroup_room("missing.max", "memory.current", root=tmp_path) is None
    assert _available_memory() > 0


def test_cache_reports_an_unreadable_image_once(samples: list[Sample]) -> None:
    samples[3].image.write_bytes(b"\x89PNG truncated")
    problems: list[str] = []
    ds = YoloDataset(samples, 64, augment=False, report=problems.append)
    assert ds.cache_images() == 4
    _, _, path, _ = ds[3]
    assert path == str(samples[4].image)
    assert problems == [f"{samples[3].image}: cannot read image (missing or corrupt); skipped"]
