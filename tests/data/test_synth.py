"""The synthetic dataset: deterministic, well-formed, tight labels, a spread of sizes and classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeyolo.cli import main
from edgeyolo.data.formats import load_data_yaml, load_split
from edgeyolo.data.synth import (
    CLASSES,
    draw_shapes,
    generate,
    image_rng,
    mask_box,
    synth_image,
    visible,
)
from tests.conftest import run_without_torch


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_whatever_the_workers(tmp_path: Path) -> None:
    generate(tmp_path / "a", {"train": 6, "val": 3}, seed=3, imgsz=96, workers=1)
    generate(tmp_path / "b", {"train": 6, "val": 3}, seed=3, imgsz=96, workers=2)
    generate(tmp_path / "c", {"train": 6, "val": 3}, seed=4, imgsz=96, workers=1)
    a, b, c = (_files(tmp_path / d) for d in "abc")
    assert len(a) == 9 + 9 + 1
    assert a == b
    assert {k for k in a if k.endswith(".png")} == {k for k in c if k.endswith(".png")}
    assert all(a[k] != c[k] for k in a if k.endswith(".png"))


def test_output_is_a_yolo_dataset(tmp_path: Path) -> None:
    yaml_path = generate(tmp_path / "d", {"train": 5, "val": 2}, seed=0, imgsz=128, workers=1)
    spec = load_data_yaml(yaml_path)
    assert spec.names == list(CLASSES)
    problems: list[str] = []
    train = load_split(spec, "train", problems.append)
    val = load_split(spec, "val", problems.append)
    assert problems == []
    assert [len(train), len(val)] == [5, 2]
    assert sum(len(s.labels) for s in train) > 0
    assert not list((tmp_path / "d").glob(".*")), "no temporary folders left behind"


def test_labels_are_the_tight_box_of_the_drawn_pixels() -> None:
    for seed in range(40):
        flat = np.full((96, 96, 3), (40, 200, 90), np.uint8)
        img = flat.copy()
        classes, boxes, masks = draw_shapes(img, 1, np.random.default_rng(seed))
        assert len(classes) == 1
        changed = (img != flat).any(2)
        assert np.array_equal(changed, masks[0])
        ys, xs = np.nonzero(changed)
        assert boxes[0].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_mask_box_edges_are_pixel_borders() -> None:
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    assert mask_box(mask).tolist() == [3, 2, 9, 5]
    assert mask_box(np.zeros((4, 4), bool)) is None


def test_heavily_occluded_shapes_lose_their_label() -> None:
    first = np.zeros((20, 20), bool)
    first[0:10, 0:10] = True  # 100 px
    covers_70 = np.zeros((20, 20), bool)
    covers_70[0:10, 0:7] = True
    covers_50 = np.zeros((20, 20), bool)
    covers_50[0:10, 0:5] = True
    assert visible([first, covers_70]) == [False, True]
    assert visible([first, covers_50]) == [True, True]
    assert visible([first, covers_50, covers_70]) == [False, False, True]


def test_images_spread_over_classes_sizes_and_counts() -> None:
    imgsz = 320
    items = [synth_image(imgsz, image_rng(0, "train", i)) for i in range(120)]
    classes = np.concatenate([it.classes for it in items])
    boxes = np.concatenate([it.boxes for it in items])
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    assert set(classes.tolist()) == set(range(len(CLASSES)))
    assert all(it.image.shape == (imgsz, imgsz, 3) and it.image.dtype == np.uint8 for it in items)
    assert max(len(it.classes) for it in items) <= 8
    assert (boxes >= 0).all() and (boxes <= imgsz).all()
    assert (boxes[:, 2:] > boxes[:, :2]).all()
    assert (side <= 14).mean() > 0.05, "some tiny objects"
    assert (side >= 0.4 * imgsz).sum() >= 5, "some large objects"
    assert np.bincount(classes).min() > 0.1 * len(classes)


def test_cli_synth_refuses_a_non_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "ds"
    args = ["data", "synth", "--out", str(out), "--train", "2", "--val", "1", "--imgsz", "64"]
    assert main([*args, "--workers", "1"]) == 0
    assert len(list((out / "images" / "train").iterdir())) == 2
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--seed", "5", "--overwrite", "--workers", "1"]) == 0
    assert (out / "data.yaml").is_file()


def test_synth_and_convert_need_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from edgeyolo.cli import main\n"
        "import edgeyolo.data.convert, edgeyolo.data.augment\n"
        f"rc = main(['data', 'synth', '--out', {str(tmp_path / 'd')!r}, '--train', '2', '--val', '1',"
        " '--imgsz', '64', '--workers', '1'])\n"
        "assert 'torch' not in sys.modules\n"
        "sys.exit(rc)\n"
    )
    proc = run_without_torch(code)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "d" / "data.yaml").is_file()
