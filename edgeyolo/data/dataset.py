"""A torch Dataset over YOLO samples: letterboxed like the runtime for validation, augmented for training.

Randomness is drawn from a generator seeded by (seed, epoch, index), so an item is the same whichever
DataLoader worker builds it. A DataLoader's workers hold their own copy of the dataset, so the epoch
travels with each key: `EpochSampler` yields (epoch, index) keys. `set_epoch` sets the epoch of plain
integer keys (direct indexing, or a loader whose workers are created after the call).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from edgeyolo.data.augment import (
    AugmentConfig,
    hsv_jitter,
    mosaic4,
    random_affine,
    random_flips,
    resize_long_side,
)
from edgeyolo.data.formats import DatasetError, Sample
from edgeyolo.runtime.letterbox import letterbox

Report = Callable[[str], None]
Key = int | tuple[int, int]  # an index, or (epoch, index)


def yolo_to_xyxy(labels: np.ndarray, width: float, height: float) -> np.ndarray:
    """(class, cx, cy, w, h) normalised → (class, x1, y1, x2, y2) pixels of a width x height image."""
    labels = np.asarray(labels, np.float32).reshape(-1, 5)
    out = np.empty_like(labels)
    out[:, 0] = labels[:, 0]
    out[:, 1] = (labels[:, 1] - labels[:, 3] / 2) * width
    out[:, 2] = (labels[:, 2] - labels[:, 4] / 2) * height
    out[:, 3] = (labels[:, 1] + labels[:, 3] / 2) * width
    out[:, 4] = (labels[:, 2] + labels[:, 4] / 2) * height
    return out


def xyxy_to_targets(labels: np.ndarray, width: float, height: float) -> torch.Tensor:
    """(class, x1, y1, x2, y2) pixels → float32 targets [n, 6] = (0, class, cx, cy, w, h) normalised."""
    labels = np.asarray(labels, np.float32).reshape(-1, 5)
    t = np.zeros((len(labels), 6), np.float32)
    t[:, 1] = labels[:, 0]
    t[:, 2] = (labels[:, 1] + labels[:, 3]) / 2 / width
    t[:, 3] = (labels[:, 2] + labels[:, 4]) / 2 / height
    t[:, 4] = (labels[:, 3] - labels[:, 1]) / width
    t[:, 5] = (labels[:, 4] - labels[:, 2]) / height
    return torch.from_numpy(t)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 BGR → float32 [3, H, W] RGB in [0, 1]."""
    chw = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1))
    return torch.from_numpy(chw).float().div_(255.0)


class YoloDataset(Dataset):
    """Images and labels of YOLO `samples`, as `imgsz` x `imgsz` tensors.

    Items are (image [3, H, W] float32 RGB in [0, 1], targets [n, 6] = (0, cls, cx, cy, w, h)
    normalised to the output image, image path, info). Without `augment`, the image is letterboxed
    exactly as the runtime does and info holds `orig_shape` (h, w), `ratio` and `pad` (left, top);
    with it, info holds `orig_shape` only. An unreadable image is reported once and replaced by the
    next readable one. After `cache_images()`, decoded images are served from memory."""

    def __init__(
        self,
        samples: list[Sample],
        imgsz: int,
        augment: bool,
        hyp: AugmentConfig | None = None,
        seed: int = 0,
        report: Report | None = None,
    ) -> None:
        if not samples:
            raise DatasetError("a dataset needs at least one image")
        self.samples = list(samples)
        self.imgsz = int(imgsz)
        self.augment = augment
        self.hyp = hyp or AugmentConfig()
        self.seed = seed
        self.epoch = 0
        self.report = report or _warn
        self._bad: set[int] = set()
        self._cache: dict[int, np.ndarray] = {}

    def cache_images(self, max_bytes: int | None = None, copies: int = 1) -> int:
        """Decode every image once and keep it in memory, so epochs skip image decoding (the dominant cost
        of an item). Stops, with a report, before holding more than `max_bytes` in all (default: half of
        the memory available now, shared by `copies` processes that will each hold the cache: 1 when
        loader workers are forked, workers + 1 when they are spawned). Returns the number of images
        cached. Call before creating the loader's worker processes so they inherit the cache."""
        budget = _available_memory() // 2 // max(1, copies) if max_bytes is None else max_bytes
        held = sum(img.nbytes for img in self._cache.values())
        for i in range(len(self.samples)):
            if i in self._bad or i in self._cache:
                continue
            img = self._read(i)
            if img is None:
                continue
            if held + img.nbytes > budget:
                self.report(
                    f"image cache stopped at {len(self._cache)}/{len(self.samples)} images: "
                    f"{_size(budget)} reached; the rest are read from disk each time"
                )
                break
            img.setflags(write=False)  # augmentations must copy, never paint over the cached image
            self._cache[i] = img
            held += img.nbytes
        return len(self._cache)

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of `epoch`."""
        self.epoch = int(epoch)

    def rng(self, index: int, epoch: int | None = None) -> np.random.Generator:
        """The generator of one item in `epoch` (default: the epoch of `set_epoch`)."""
        epoch = self.epoch if epoch is None else epoch
        return np.random.default_rng(np.random.SeedSequence([self.seed, epoch, index]))

    def load(self, index: int) -> tuple[int, np.ndarray]:
        """(index actually used, BGR image): `index`, or the next readable image if it is unreadable."""
        n = len(self.samples)
        for step in range(n):
            i = (index + step) % n
            if i in self._bad:
                continue
            img = self._cache[i] if i in self._cache else self._read(i)
            if img is not None:
                return i, img
        raise DatasetError("none of the dataset's images can be read")

    def _read(self, i: int) -> np.ndarray | None:
        """Decode image `i`; an unreadable one is reported once and marked bad."""
        img = _imread(str(self.samples[i].image))
        if img is None:
            self._bad.add(i)
            self.report(f"{self.samples[i].image}: cannot read image (missing or corrupt); skipped")
        return img

    def __getitem__(self, key: Key) -> tuple[torch.Tensor, torch.Tensor, str, dict]:
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        if self.augment:
            return self._augmented(index, epoch)
        i, img = self.load(index)
        h, w = img.shape[:2]
        out, lb = letterbox(img, self.imgsz, auto=False, pad_value=self.hyp.pad_value)
        labels = yolo_to_xyxy(self.samples[i].labels, w, h)
        labels[:, 1:] = lb.to_letterbox(labels[:, 1:])
        labels[:, [1, 3]] = labels[:, [1, 3]].clip(0, self.imgsz)
        labels[:, [2, 4]] = labels[:, [2, 4]].clip(0, self.imgsz)
        info = {"orig_shape": (h, w), "ratio": lb.ratio, "pad": lb.pad}
        targets = xyxy_to_targets(labels, self.imgsz, self.imgsz)
        return to_tensor(out), targets, str(self.samples[i].image), info

    def _resized(self, index: int) -> tuple[int, np.ndarray, np.ndarray, tuple[int, int]]:
        """(used index, image resized to imgsz on its long side, its pixel labels, original (h, w))."""
        i, img = self.load(index)
        h, w = img.shape[:2]
        img, _ = resize_long_side(img, self.imgsz)
        return i, img, yolo_to_xyxy(self.samples[i].labels, img.shape[1], img.shape[0]), (h, w)

    def _augmented(self, index: int, epoch: int) -> tuple[torch.Tensor, torch.Tensor, str, dict]:
        rng, hyp, s = self.rng(index, epoch), self.hyp, self.imgsz
        if rng.random() < hyp.mosaic:
            others = rng.integers(0, len(self.samples), 3)
            parts = [self._resized(int(j)) for j in (index, *others)]
            i, _, _, shape = parts[0]
            img, labels = mosaic4(
                [p[1] for p in parts],
                [p[2] for p in parts],
                s,
                rng,
                hyp.pad_value,
                hyp.min_size,
                hyp.min_area_ratio,
            )
        else:
            i, img, labels, shape = self._resized(index)
            img, lb = letterbox(img, s, auto=False, pad_value=hyp.pad_value)
            labels[:, 1:] = lb.to_letterbox(labels[:, 1:])
        img, labels = random_affine(img, labels, s, rng, hyp)
        img = hsv_jitter(img, rng, hyp.hsv_h, hyp.hsv_s, hyp.hsv_v)
        img, labels = random_flips(img, labels, rng, hyp.fliplr, hyp.flipud)
        return (
            to_tensor(img),
            xyxy_to_targets(labels, s, s),
            str(self.samples[i].image),
            {"orig_shape": shape},
        )


class EpochSampler(Sampler[tuple[int, int]]):
    """Shuffles `n` indices anew each epoch (seeded by (seed, epoch)) and tags each with the epoch, so
    that augmentations change every epoch even inside persistent DataLoader workers, and a resumed run
    sees the same order as an uninterrupted one."""

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True) -> None:
        self.n, self.seed, self.shuffle, self.epoch = int(n), int(seed), bool(shuffle), 0

    def set_epoch(self, epoch: int) -> None:
        """Shuffle and tag the next iteration as `epoch`."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch  # fixed when iteration starts, whatever set_epoch does meanwhile
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        else:
            order = np.arange(self.n)
        return ((epoch, int(i)) for i in order)


def collate(
    batch: list[tuple[torch.Tensor, torch.Tensor, str, dict]],
) -> tuple[torch.Tensor, torch.Tensor, list[str], list[dict]]:
    """Stack images [B, 3, H, W]; concatenate targets [N, 6] with the batch index in column 0."""
    images, targets, paths, infos = zip(*batch, strict=True)
    for i, t in enumerate(targets):
        t[:, 0] = i
    return torch.stack(images), torch.cat(targets, 0), list(paths), list(infos)


def _imread(path: str) -> np.ndarray | None:
    try:
        return cv2.imread(path, cv2.IMREAD_COLOR)
    except cv2.error:
        return None


def _available_memory() -> int:
    """Bytes this process can still allocate: MemAvailable on Linux, lowered to what the cgroup (a
    container's memory limit) leaves; 4 GiB assumed where neither can be read."""
    free = [
        _read_meminfo_available(),
        _cgroup_room("memory.max", "memory.current"),  # cgroup v2
        _cgroup_room("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),  # cgroup v1
    ]
    known = [b for b in free if b is not None]
    return min(known) if known else 4 * 2**30


def _read_meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _cgroup_room(limit_file: str, usage_file: str, root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Limit minus usage of this process's memory cgroup, or None when unlimited or unreadable."""
    try:
        limit = (root / limit_file).read_text().strip()
        usage = int((root / usage_file).read_text().strip())
    except (OSError, ValueError):
        return None
    if not limit.isdigit() or int(limit) >= 2**60:  # "max", or v1's "unlimited" sentinel
        return None
    return max(0, int(limit) - usage)


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)
