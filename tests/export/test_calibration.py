"""Calibration images: where they come from, what is refused, the cache key, and the exact preprocessing."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from edgeyolo.data.synth import generate
from edgeyolo.defaults import shipped_onnx
from edgeyolo.export.calibration import (
    MIN_IMAGES,
    WARN_BELOW,
    CalibrationError,
    CalibrationSet,
    default_cache_dir,
    find_calibration_images,
)
from edgeyolo.export.metadata import read_metadata, sha256_file
from edgeyolo.runtime.contract import Letterbox
from edgeyolo.runtime.detector import Detector

SHA = "0" * 64


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic data.yaml with 24 train and 8 val images of 64 px."""
    return generate(
        tmp_path_factory.mktemp("calib") / "d", {"train": 24, "val": 8}, seed=5, imgsz=64, workers=1
    )


@pytest.fixture(scope="module")
def contract():
    return read_metadata(onnx.load(str(shipped_onnx())))


def _copy_images(src: Path, dest: Path, n: int) -> list[Path]:
    dest.mkdir(parents=True)
    files = sorted(src.glob("*.png"))[:n]
    for f in files:
        shutil.copy2(f, dest / f.name)
    return sorted(dest.glob("*.png"))


def _quiet(messages: list[str]):
    return messages.append


# -- where the images come from ------------------------------------------------------------------------
def test_a_folder_is_searched_recursively(dataset: Path, tmp_path: Path) -> None:
    train = sorted((dataset.parent / "images" / "train").glob("*.png"))
    nested = tmp_path / "imgs" / "deeper"
    nested.mkdir(parents=True)
    for f in train[:12]:
        shutil.copy2(f, tmp_path / "imgs" / f.name)
    for f in train[12:22]:
        shutil.copy2(f, nested / f.name)
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    calib = find_calibration_images(tmp_path / "imgs", 300, _quiet([]))
    assert len(calib) == 22
    assert list(calib.images) == sorted(calib.images)
    assert {p.name for p in calib.images} == {f.name for f in train[:22]}
    assert all(p.suffix == ".png" for p in calib.images)


def test_a_data_yaml_prefers_the_train_split(dataset: Path) -> None:
    calib = find_calibration_images(dataset, 300, _quiet([]))
    assert len(calib) == 24
    assert all(p.parent.name == "train" for p in calib.images)
    assert calib.source == str(dataset)


def test_a_data_yaml_without_train_falls_back_to_val(dataset: Path, tmp_path: Path) -> None:
    _copy_images(dataset.parent / "images" / "train", tmp_path / "v", 21)
    yaml_path = tmp_path / "only-val.yaml"
    yaml_path.write_text(f"names: [a, b]\nval: {tmp_path / 'v'}\n")
    calib = find_calibration_images(yaml_path, 300, _quiet([]))
    assert len(calib) == 21
    assert all(p.parent == tmp_path / "v" for p in calib.images)


def test_more_images_than_asked_gives_an_evenly_spaced_deterministic_subset(dataset: Path) -> None:
    every = sorted((dataset.parent / "images" / "train").glob("*.png"))
    a = find_calibration_images(dataset, 20, _quiet([]))
    b = find_calibration_images(dataset, 20, _quiet([]))
    assert a.images == b.images
    assert len(a) == 20 and len(set(a.images)) == 20
    index = [every.index(p) for p in a.images]
    assert index == sorted(index)
    assert index[0] == 0 and index[-1] == len(every) - 1  # spread over the whole list, not its head
    gaps = np.diff(index)
    assert gaps.min() >= 1 and gaps.max() <= 2


# -- refusals -------------------------------------------------------------------------------------------
def test_no_source_names_the_data_flag() -> None:
    with pytest.raises(CalibrationError, match="--data"):
        find_calibration_images(None, 300)


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="does not exist"):
        find_calibration_images(tmp_path / "nowhere", 300)


def test_too_few_images_are_refused(dataset: Path, tmp_path: Path) -> None:
    _copy_images(dataset.parent / "images" / "train", tmp_path / "few", MIN_IMAGES - 1)
    with pytest.raises(CalibrationError, match=f"holds {MIN_IMAGES - 1} images.*at least {MIN_IMAGES}"):
        find_calibration_images(tmp_path / "few", 300)


def test_a_calib_size_below_the_minimum_is_refused(dataset: Path) -> None:
    with pytest.raises(CalibrationError, match=f"--calib-size must be at least {MIN_IMAGES}, got 19"):
        find_calibration_images(dataset, MIN_IMAGES - 1)


def test_a_file_that_is_neither_images_nor_yaml_is_refused(tmp_path: Path) -> None:
    odd = tmp_path / "images.zip"
    odd.write_bytes(b"PK\x03\x04")
    with pytest.raises(CalibrationError, match=r"folder of images or a data\.yaml"):
        find_calibration_images(odd, 300)


def test_a_broken_data_yaml_is_a_calibration_error(tmp_path: Path) -> None:
    bad = tmp_path / "data.yaml"
    bad.write_text("train: images\n")  # no names
    with pytest.raises(CalibrationError, match="names"):
        find_calibration_images(bad, 300)


def test_fewer_than_the_recommended_number_is_warned_about(dataset: Path) -> None:
    messages: list[str] = []
    find_calibration_images(dataset, 300, messages.append)
    assert len(messages) == 1
    assert "only 24 images" in messages[0] and str(WARN_BELOW) in messages[0]
    with pytest.warns(UserWarning, match="only 24 images"):  # the default report is a warning
        find_calibration_images(dataset, 300)


def test_enough_images_are_not_warned_about(dataset: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    frame = cv2.imread(str(sorted((dataset.parent / "images" / "train").glob("*.png"))[0]))
    for i in range(WARN_BELOW):
        cv2.imwrite(str(folder / f"{i:04d}.png"), frame)
    messages: list[str] = []
    assert len(find_calibration_images(folder, 300, messages.append)) == WARN_BELOW
    assert messages == []


def test_an_unreadable_image_is_named_when_reached(dataset: Path, tmp_path: Path, contract) -> None:
    files = _copy_images(dataset.parent / "images" / "train", tmp_path / "c", 22)
    broken = files[3]
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))  # a PNG signature, then garbage
    calib = find_calibration_images(tmp_path / "c", 300, _quiet([]))
    assert broken in calib.images  # found by name; the bytes are only read when tensors() gets there
    with Detector(shipped_onnx()) as det:
        it = calib.tensors(lambda f: det.preprocess(f)[0])
        for _ in range(3):
            next(it)
        with pytest.raises(CalibrationError, match=re.escape(str(broken))):
            next(it)


# -- preprocessing --------------------------------------------------------------------------------------
def test_tensors_are_exactly_the_runtime_preprocessing(dataset: Path) -> None:
    calib = find_calibration_images(dataset, 20, _quiet([]))
    with Detector(shipped_onnx()) as det:
        assert det.contract.imgsz == (320, 320)
        tensors = list(calib.tensors(lambda f: det.preprocess(f)[0]))
        assert len(tensors) == 20
        for path, x in zip(calib.images, tensors, strict=True):
            expected, _ = det.preprocess(cv2.imread(str(path)))
            assert x.shape == (1, 3, 320, 320) and x.dtype == np.float32
            np.testing.assert_array_equal(x, expected)
        assert not np.array_equal(tensors[0], tensors[1])


# -- the cache key --------------------------------------------------------------------------------------
def test_the_key_is_stable_for_the_same_inputs(dataset: Path, contract) -> None:
    a = find_calibration_images(dataset, 20, _quiet([]))
    b = find_calibration_images(dataset, 20, _quiet([]))
    assert a.key(SHA, contract, "nncf") == b.key(SHA, contract, "nncf")
    assert len(a.key(SHA, contract, "nncf")) == 64
    assert a.key(SHA, contract, "nncf", symmetric=True) == b.key(SHA, contract, "nncf", symmetric=True)
    assert a.key(SHA, contract, "nncf", symmetric=True) != a.key(SHA, contract, "nncf", symmetric=False)


def test_the_key_changes_with_the_model_the_preprocessing_and_the_method(dataset: Path, contract) -> None:
    calib = find_calibration_images(dataset, 20, _quiet([]))
    base = calib.key(SHA, contract, "minmax")
    variants = {
        "onnx sha": calib.key(sha256_file(shipped_onnx()), contract, "minmax"),
        "imgsz": calib.key(SHA, dataclasses.replace(contract, imgsz=(416, 416)), "minmax"),
        "input": calib.key(SHA, dataclasses.replace(contract, input="uint8-nhwc-bgr"), "minmax"),
        "pad": calib.key(SHA, dataclasses.replace(contract, letterbox=Letterbox(pad_value=0)), "minmax"),
        "method": calib.key(SHA, contract, "entropy"),
        "images": CalibrationSet(calib.images[1:], calib.source).key(SHA, contract, "minmax"),
    }
    assert all(key != base for key in variants.values()), [k for k, v in variants.items() if v == base]
    assert len(set(variants.values())) == len(variants)


def test_the_key_changes_when_an_image_changes(dataset: Path, tmp_path: Path, contract) -> None:
    files = _copy_images(dataset.parent / "images" / "train", tmp_path / "k", 20)
    calib = find_calibration_images(tmp_path / "k", 300, _quiet([]))
    first = calib.key(SHA, contract, "minmax")
    assert calib.key(SHA, contract, "minmax") == first

    st = files[5].stat()  # the modification time alone
    os.utime(files[5], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = calib.key(SHA, contract, "minmax")
    assert touched != first

    frame = cv2.imread(str(files[7]))  # new pixels
    cv2.imwrite(str(files[7]), 255 - frame)
    assert calib.key(SHA, contract, "minmax") not in (first, touched)


def test_a_vanished_image_is_a_calibration_error(dataset: Path, tmp_path: Path, contract) -> None:
    files = _copy_images(dataset.parent / "images" / "train", tmp_path / "g", 20)
    calib = find_calibration_images(tmp_path / "g", 300, _quiet([]))
    files[0].unlink()
    with pytest.raises(CalibrationError, match=re.escape(files[0].name)):
        calib.key(SHA, contract, "minmax")


def test_the_cache_dir_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEYOLO_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "calibration"
    monkeypatch.delenv("EDGEYOLO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "edgeyolo" / "calibration"
