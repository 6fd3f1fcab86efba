"""VOC and COCO conversion: round trips within 1 px, clipping, skipped boxes, splits, atomic output."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import edgeyolo.data.writer as writer
from edgeyolo.cli import main
from edgeyolo.data.convert import convert_coco, convert_voc
from edgeyolo.data.formats import DatasetError, load_data_yaml, load_split

# image id → (width, height, [(name, xmin, ymin, xmax, ymax, difficult)]) in VOC 1-based pixels
VOC = {
    "img_a": (120, 80, [("dog", 10, 12, 50, 60, 0), ("cat", 70, 5, 118, 40, 1)]),
    "img_b": (64, 96, [("cat", 1, 1, 64, 96, 0), ("bird", 20, 30, 22, 31, 0)]),
    "img_c": (100, 100, [("dog", 60, 50, 140, 90, 0), ("bird", 40, 40, 30, 60, 0)]),  # clipped; degenerate
}


def _voc_xml(name: str, w: int, h: int, objects: list) -> str:
    objs = "".join(
        f"<object><name>{n}</name><difficult>{d}</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
        f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for n, x1, y1, x2, y2, d in objects
    )
    return (
        f"<annotation><filename>{name}.jpg</filename><size><width>{w}</width><height>{h}</height>"
        f"<depth>3</depth></size>{objs}</annotation>"
    )


@pytest.fixture
def voc(tmp_path: Path) -> Path:
    root = tmp_path / "VOCdevkit" / "VOC2007"
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True)
    for name, (w, h, objects) in VOC.items():
        cv2.imwrite(str(root / "JPEGImages" / f"{name}.jpg"), np.full((h, w, 3), 90, np.uint8))
        (root / "Annotations" / f"{name}.xml").write_text(_voc_xml(name, w, h, objects))
    (root / "ImageSets/Main/train.txt").write_text("img_a\nimg_b\n")
    (root / "ImageSets/Main/val.txt").write_text("img_c\n")
    return root


def _pixel_boxes(sample, width: int, height: int) -> np.ndarray:
    """YOLO labels → continuous pixel xyxy."""
    cx, cy, w, h = sample.labels[:, 1:].T
    return np.stack(
        [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], 1
    )


def test_voc_round_trip(voc: Path, tmp_path: Path) -> None:
    problems: list[str] = []
    result = convert_voc(voc, tmp_path / "yolo", report=problems.append)
    spec = load_data_yaml(result.data_yaml)
    assert spec.names == ["bird", "cat", "dog"]
    assert result.images == {"train": 2, "val": 1}
    assert result.degenerate == 1 and len(problems) == 1 and "img_c" in problems[0]
    samples = {s.image.stem: s for split in ("train", "val") for s in load_split(spec, split)}
    assert set(samples) == set(VOC)
    for name, (w, h, objects) in VOC.items():
        got = _pixel_boxes(samples[name], w, h)
        # back to VOC's 1-based inclusive pixels, expecting the clipped box and no degenerate one
        got_voc = got + np.array([1, 1, 0, 0])
        expected = [
            [min(max(x1, 1), w), min(max(y1, 1), h), min(x2, w), min(y2, h)]
            for _, x1, y1, x2, y2, _ in objects
            if x2 > x1 and y2 > y1
        ]
        classes = [spec.names.index(o[0]) for o in objects if o[3] > o[1]]
        np.testing.assert_allclose(got_voc, expected, atol=0.01)  # the spec allows 1 px; the inverse is exact
        assert samples[name].labels[:, 0].astype(int).tolist() == classes  # difficult objects kept
    image = tmp_path / "yolo" / "images" / "train" / "img_a.jpg"
    assert image.stat().st_ino == (voc / "JPEGImages" / "img_a.jpg").stat().st_ino  # hard-linked


def test_voc_single_split_with_names_and_copy(voc: Path, tmp_path: Path) -> None:
    problems: list[str] = []
    result = convert_voc(voc, tmp_path / "y", split="val", names=["dog"], report=problems.append, link=False)
    assert result.images == {"val": 1}
    assert any("'bird'" in p and "--names" in p for p in problems)
    assert load_data_yaml(result.data_yaml).splits.keys() == {"val"}
    image = tmp_path / "y" / "images" / "val" / "img_c.jpg"
    assert image.stat().st_ino != (voc / "JPEGImages" / "img_c.jpg").stat().st_ino


def test_voc_bad_xml_leaves_nothing(voc: Path, tmp_path: Path) -> None:
    (voc / "Annotations" / "img_c.xml").write_text("<annotation><object>")
    with pytest.raises(DatasetError, match=r"img_c\.xml"):
        convert_voc(voc, tmp_path / "out")
    assert not (tmp_path / "out" / "data.yaml").exists()


def test_failure_while_writing_leaves_no_data_yaml_or_split(
    voc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def flaky(src: Path, dst: Path, link: bool = True) -> None:
        calls.append(src)
        if len(calls) == 2:
            raise OSError("disk full")
        dst.write_bytes(src.read_bytes())

    monkeypatch.setattr(writer, "link_or_copy", flaky)
    with pytest.raises(OSError, match="disk full"):
        convert_voc(voc, tmp_path / "out")
    out = tmp_path / "out"
    assert not (out / "data.yaml").exists()
    assert not (out / "images" / "train").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


COCO = {
    "images": [
        {"id": 5, "file_name": "a.jpg", "width": 100, "height": 50},
        {"id": 9, "file_name": "sub/b.jpg", "width": 40, "height": 80},
        {"id": 11, "file_name": "missing.jpg", "width": 10, "height": 10},
        {"id": 12, "file_name": "empty.jpg", "width": 30, "height": 30},
    ],
    "categories": [{"id": 7, "name": "truck"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    "annotations": [
        {"id": 1, "image_id": 5, "category_id": 1, "bbox": [10.5, 5.0, 20.0, 30.0], "iscrowd": 0},
        {"id": 2, "image_id": 5, "category_id": 7, "bbox": [80.0, 30.0, 40.0, 40.0], "iscrowd": 0},
        {"id": 3, "image_id": 5, "category_id": 3, "bbox": [0.0, 0.0, 100.0, 50.0], "iscrowd": 1},
        {"id": 4, "image_id": 9, "category_id": 3, "bbox": [2.0, 3.0, 30.0, 60.0], "iscrowd": 0},
        {"id": 5, "image_id": 9, "category_id": 3, "bbox": [5.0, 5.0, 0.0, 10.0], "iscrowd": 0},
        {"id": 6, "image_id": 11, "category_id": 1, "bbox": [1.0, 1.0, 5.0, 5.0], "iscrowd": 0},
    ],
}


@pytest.fixture
def coco(tmp_path: Path) -> tuple[Path, Path]:
    images = tmp_path / "coco" / "val2017"
    (images / "sub").mkdir(parents=True)
    for info in COCO["images"]:
        if info["file_name"] != "missing.jpg":
            img = np.zeros((info["height"], info["width"], 3), np.uint8)
            cv2.imwrite(str(images / info["file_name"]), img)
    ann = tmp_path / "coco" / "instances_val2017.json"
    ann.write_text(json.dumps(COCO))
    return ann, images


def test_coco_round_trip(coco: tuple[Path, Path], tmp_path: Path) -> None:
    ann, images = coco
    problems: list[str] = []
    result = convert_coco(ann, images, tmp_path / "y", report=problems.append)
    assert result.names == ["person", "car", "truck"]  # sorted by category id: 1, 3, 7
    assert (result.crowd, result.degenerate, result.skipped_images) == (1, 1, 1)
    assert result.images == {"val": 3} and result.objects == 3
    assert any("missing.jpg" in p for p in problems)
    assert any("crowd" in p for p in problems)
    spec = load_data_yaml(result.data_yaml)
    samples = {s.image.name: s for s in load_split(spec, "val")}
    assert set(samples) == {"a.jpg", "b.jpg", "empty.jpg"}
    assert len(samples["empty.jpg"].labels) == 0
    a = samples["a.jpg"]
    assert a.labels[:, 0].tolist() == [0, 2]
    np.testing.assert_allclose(_pixel_boxes(a, 100, 50), [[10.5, 5, 30.5, 35], [80, 30, 100, 50]], atol=0.01)
    b = samples["b.jpg"]
    assert b.labels[:, 0].tolist() == [1]
    np.testing.assert_allclose(_pixel_boxes(b, 40, 80), [[2, 3, 32, 63]], atol=0.01)


def test_coco_splits_merge_into_one_dataset(coco: tuple[Path, Path], tmp_path: Path) -> None:
    ann, images = coco
    dst = tmp_path / "y"
    convert_coco(ann, images, dst, split="train")
    convert_coco(ann, images, dst)  # val, from the file name
    assert load_data_yaml(dst / "data.yaml").splits.keys() == {"train", "val"}
    with pytest.raises(DatasetError, match="--overwrite"):
        convert_coco(ann, images, dst)
    convert_coco(ann, images, dst, overwrite=True)
    other = json.loads(ann.read_text())
    other["categories"][0]["name"] = "lorry"
    ann2 = ann.with_name("instances_test.json")
    ann2.write_text(json.dumps(other))
    before = (dst / "data.yaml").read_text()
    with pytest.raises(DatasetError, match="classes"):
        convert_coco(ann2, images, dst)
    assert (dst / "data.yaml").read_text() == before
    assert not (dst / "images" / "test").exists()


def test_cli_convert(coco: tuple[Path, Path], voc: Path, tmp_path: Path, capsys) -> None:
    ann, images = coco
    assert (
        main(["data", "convert", "--from", "coco", str(ann), str(tmp_path / "c"), "--images", str(images)])
        == 0
    )
    assert "3 val images, 3 objects, 3 classes" in capsys.readouterr().err
    assert main(["data", "convert", "--from", "coco", str(ann), str(tmp_path / "d")]) == 2
    assert "--images" in capsys.readouterr().err
    names = tmp_path / "names.txt"
    names.write_text("bird\ncat\ndog\n")
    assert (
        main(["data", "convert", "--from", "voc", str(voc), str(tmp_path / "v"), "--names", str(names)]) == 0
    )
    assert load_data_yaml(tmp_path / "v" / "data.yaml").names == ["bird", "cat", "dog"]
    assert main(["data", "convert", "--from", "voc", str(tmp_path), str(tmp_path / "w")]) == 2
    assert "Annotations" in capsys.readouterr().err
