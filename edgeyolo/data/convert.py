"""Convert Pascal VOC (XML) and COCO (JSON) detection datasets to the YOLO format.

Boxes are clipped to the image; boxes narrower or shorter than `MIN_SIZE` pixels after clipping are
reported and skipped, and so are COCO crowd regions (counted). Each split is written into a hidden
folder and moved into place; data.yaml is written last, so a failed conversion leaves none behind.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeyolo.data.formats import IMAGE_SUFFIXES, DatasetError
from edgeyolo.data.writer import SPLITS, SplitWriter, check_destination, write_data_yaml, xyxy_to_yolo

Report = Callable[[str], None]
MIN_SIZE = 1.0  # pixels


@dataclass
class ConvertResult:
    """What a conversion wrote and what it skipped."""

    data_yaml: Path
    names: list[str]
    images: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    crowd: int = 0
    degenerate: int = 0
    skipped_images: int = 0

    def summary(self) -> str:
        """One line for the user."""
        per_split = ", ".join(f"{n} {s}" for s, n in self.images.items())
        text = f"{per_split} images, {self.objects} objects, {len(self.names)} classes"
        extras = [
            f"{self.crowd} crowd boxes" if self.crowd else "",
            f"{self.degenerate} degenerate boxes" if self.degenerate else "",
            f"{self.skipped_images} images" if self.skipped_images else "",
        ]
        skipped = ", ".join(e for e in extras if e)
        return f"{text}; skipped {skipped}" if skipped else text


@dataclass
class _Image:
    path: Path
    width: int
    height: int
    classes: list[int]
    boxes: list[list[float]]  # pixel xyxy, not yet clipped


def clip_box(box: Iterable[float], width: int, height: int) -> np.ndarray | None:
    """Clip a pixel xyxy box to the image; None when less than MIN_SIZE px remains on a side."""
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
    y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
    if not (x2 - x1 >= MIN_SIZE and y2 - y1 >= MIN_SIZE):  # also catches NaN
        return None
    return np.array([x1, y1, x2, y2], np.float64)


def _write_split(
    dst: Path,
    split: str,
    items: list[_Image],
    result: ConvertResult,
    report: Report,
    link: bool,
    overwrite: bool,
) -> None:
    with SplitWriter(dst, split, overwrite) as writer:
        for n, item in enumerate(items):
            classes, boxes = [], []
            for cls, box in zip(item.classes, item.boxes, strict=True):
                clipped = clip_box(box, item.width, item.height)
                if clipped is None:
                    report(f"{item.path.name}: degenerate box {[round(v, 2) for v in box]} skipped")
                    result.degenerate += 1
                    continue
                classes.append(cls)
                boxes.append(clipped)
            yolo = xyxy_to_yolo(np.array(boxes).reshape(-1, 4), item.width, item.height)
            name = writer.unique_name(item.path.name, str(n))
            writer.add_file(item.path, name, np.array(classes, np.int64), yolo, link=link)
            result.objects += len(classes)
        result.images[split] = len(items)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return split


# --- VOC -----------------------------------------------------------------------------------------


def read_voc_xml(path: Path) -> tuple[str, int, int, list[tuple[str, list[float], bool]]]:
    """One VOC annotation: (filename, width, height, [(name, [x1, y1, x2, y2], difficult)]).

    VOC pixel indices are 1-based and inclusive, so `xmin..xmax` becomes the continuous box
    `[xmin - 1, xmax]`. A size of 0 (or none) is returned as 0."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DatasetError(f"{path}: not a readable VOC annotation: {exc}") from exc
    size = root.find("size")
    width = int(float(_text(size, "width", "0"))) if size is not None else 0
    height = int(float(_text(size, "height", "0"))) if size is not None else 0
    objects = []
    for obj in root.iter("object"):
        name = _text(obj, "name", "").strip()
        bnd = obj.find("bndbox")
        if not name or bnd is None:
            raise DatasetError(f"{path}: an <object> without <name> or <bndbox>")
        try:
            x1, y1, x2, y2 = (float(_text(bnd, k, "nan")) for k in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError as exc:
            raise DatasetError(f"{path}: non-numeric <bndbox> for {name!r}") from exc
        difficult = _text(obj, "difficult", "0").strip() == "1"
        objects.append((name, [x1 - 1, y1 - 1, x2, y2], difficult))
    return _text(root, "filename", "").strip(), width, height, objects


def _text(node: ET.Element, tag: str, default: str) -> str:
    child = node.find(tag)
    return child.text if child is not None and child.text is not None else default


def _voc_image(src: Path, xml: Path, filename: str) -> Path | None:
    folder = src / "JPEGImages"
    if filename and (folder / filename).is_file():
        return folder / filename
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / (xml.stem + suffix), folder / (xml.stem + suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def _voc_splits(src: Path, split: str | None) -> dict[str, list[str]]:
    """Split → annotation ids, from ImageSets/Main/<split>.txt where present, else every XML."""
    every = sorted(p.stem for p in (src / "Annotations").glob("*.xml"))
    sets = src / "ImageSets" / "Main"

    def ids(name: str) -> list[str]:
        lines = (sets / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        return [line.split()[0] for line in lines if line.strip()]

    if split is not None:
        return {split: ids(split) if (sets / f"{split}.txt").is_file() else every}
    found = {s: ids(s) for s in SPLITS if (sets / f"{s}.txt").is_file()}
    return found or {"train": every}


def convert_voc(
    src: str | Path,
    dst: str | Path,
    split: str | None = None,
    names: list[str] | None = None,
    report: Report | None = None,
    link: bool = True,
    overwrite: bool = False,
) -> ConvertResult:
    """Convert a VOCdevkit-style folder (Annotations/*.xml, JPEGImages/*, optional
    ImageSets/Main/{train,val,test}.txt) to YOLO format under `dst`.

    Without `split`, each ImageSets list present becomes a split (all images → `train` if none);
    with `split`, that list (or every image) is written as that split. Class names are `names` or
    the sorted names found. Objects marked difficult are kept."""
    src, dst = Path(src), Path(dst)
    report = report or (lambda _msg: None)
    if not (src / "Annotations").is_dir():
        raise DatasetError(f"{src} is not a VOC folder: it has no Annotations/ directory")
    parsed: dict[str, list[tuple[Path, int, int, list]]] = {}
    skipped = 0
    for name, ids in _voc_splits(src, split if split is None else _check_split(split)).items():
        parsed[name] = []
        for ann_id in ids:
            xml = src / "Annotations" / f"{ann_id}.xml"
            if not xml.is_file():
                report(f"{xml}: listed in ImageSets but missing; skipped")
                skipped += 1
                continue
            filename, width, height, objects = read_voc_xml(xml)
            image = _voc_image(src, xml, filename)
            if image is None:
                report(f"{xml}: image {filename or ann_id} not found in JPEGImages; skipped")
                skipped += 1
                continue
            if width <= 0 or height <= 0:
                width, height = _image_size(image)
                if width <= 0:
                    report(f"{image}: unreadable image without a <size> in its XML; skipped")
                    skipped += 1
                    continue
            parsed[name].append((image, width, height, objects))
    if not any(parsed.values()):
        raise DatasetError(f"{src}: no annotated images found")
    if names is None:
        names = sorted({obj[0] for items in parsed.values() for *_, objs in items for obj in objs})
        if not names:
            raise DatasetError(f"{src}: the annotations contain no objects, so no class names; give --names")
    check_destination(dst, list(names), list(parsed), overwrite)
    index = {n: i for i, n in enumerate(names)}
    result = ConvertResult(dst / "data.yaml", list(names), skipped_images=skipped)
    for name, items in parsed.items():
        images = []
        for image, width, height, objects in items:
            classes, boxes = [], []
            for cls_name, box, _difficult in objects:
                if cls_name not in index:
                    report(f"{image.name}: class {cls_name!r} is not in --names; object skipped")
                    continue
                classes.append(index[cls_name])
                boxes.append(box)
            images.append(_Image(image, width, height, classes, boxes))
        _write_split(dst, name, images, result, report, link, overwrite)
    write_data_yaml(dst, list(names), list(parsed))
    return result


def _image_size(path: Path) -> tuple[int, int]:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return (0, 0) if img is None else (img.shape[1], img.shape[0])


# --- COCO ----------------------------------------------------------------------------------------


def coco_split_name(annotations: Path) -> str:
    """`instances_val2017.json` → `val`; `test` likewise; anything else → `train`."""
    stem = annotations.stem.lower()
    return "val" if "val" in stem else "test" if "test" in stem else "train"


def convert_coco(
    annotations: str | Path,
    images: str | Path,
    dst: str | Path,
    split: str | None = None,
    report: Report | None = None,
    link: bool = True,
    overwrite: bool = False,
) -> ConvertResult:
    """Convert a COCO instances JSON (+ its image folder) to one YOLO split under `dst`.

    Category ids map to 0..nc-1 in sorted id order; `bbox` [x, y, w, h] (pixels) becomes normalised
    cx, cy, w, h; crowd annotations are skipped and counted. Images without annotations are kept."""
    annotations, images, dst = Path(annotations), Path(images), Path(dst)
    report = report or (lambda _msg: None)
    split = _check_split(split or coco_split_name(annotations))
    try:
        data = json.loads(annotations.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read COCO annotations {annotations}: {exc}") from exc
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= data.keys():
        raise DatasetError(f"{annotations}: a COCO file needs `images`, `annotations` and `categories`")
    if not images.is_dir():
        raise DatasetError(f"image folder {images} does not exist (give --images DIR)")
    try:
        names, per_image, result = _read_coco(data, annotations, images, dst, report)
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{annotations}: malformed COCO entry ({type(exc).__name__}: {exc})") from exc
    if not per_image:
        raise DatasetError(f"{annotations}: none of its images were found in {images}")
    check_destination(dst, names, [split], overwrite)
    if result.crowd:
        report(f"{annotations.name}: {result.crowd} crowd (iscrowd=1) annotations skipped")
    _write_split(dst, split, list(per_image.values()), result, report, link, overwrite)
    write_data_yaml(dst, names, [split])
    return result


def _read_coco(
    data: dict, annotations: Path, images: Path, dst: Path, report: Report
) -> tuple[list[str], dict[int, _Image], ConvertResult]:
    categories = sorted(data["categories"], key=lambda c: c["id"])
    cat_index = {c["id"]: i for i, c in enumerate(categories)}
    names = [str(c["name"]) for c in categories]
    result = ConvertResult(dst / "data.yaml", names)
    per_image: dict[int, _Image] = {}
    for info in data["images"]:
        path = images / info["file_name"]
        if not path.is_file() and (images / Path(info["file_name"]).name).is_file():
            path = images / Path(info["file_name"]).name
        if not path.is_file():
            report(f"{path}: image listed in {annotations.name} not found; skipped")
            result.skipped_images += 1
            continue
        per_image[info["id"]] = _Image(path, int(info["width"]), int(info["height"]), [], [])
    for ann in data["annotations"]:
        item = per_image.get(ann["image_id"])
        if item is None:
            continue
        if ann.get("iscrowd", 0):
            result.crowd += 1
            continue
        if ann["category_id"] not in cat_index:
            report(f"annotation {ann.get('id')}: unknown category_id {ann['category_id']}; skipped")
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        item.classes.append(cat_index[ann["category_id"]])
        item.boxes.append([x, y, x + w, y + h])
    return names, per_image, result
