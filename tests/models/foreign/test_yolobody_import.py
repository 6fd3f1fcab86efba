"""Design document 001's YoloBody (bubbliiiing/mobilenet-yolov4-pytorch) .pth, made by that code
(tests/fixtures/foreign/make_fixtures.py): imported with its classes/anchors files, it gives that code's
raw outputs and, decoded the YOLOv3 way, its DecodeBox boxes."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeyolo.models.checkpoint import CheckpointError, load_checkpoint, load_model
from edgeyolo.models.foreign.report import import_checkpoint
from tests.models.foreign.test_yolov5_import import FIXTURES, assert_matches_upstream

PTH = FIXTURES / "yolobody-mnv2-voc.pth"
CLASSES = FIXTURES / "yolobody-mnv2-voc-classes.txt"
ANCHORS = FIXTURES / "yolobody-mnv2-voc-anchors.txt"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("yolobody") / "model.pt"
    return out, import_checkpoint(PTH, out, classes=CLASSES, anchors=ANCHORS)


def test_equals_yolobody_outputs_raw_and_decoded(imported) -> None:
    out, report = imported
    assert report["names"] == ["car", "bus", "bicycle"] and report["strides"] == [8, 16, 32]
    assert report["anchors"][2] == [142, 110, 192, 243, 459, 401]
    assert any("unused MobileNetV2 parts dropped" in line for line in report["adapted"])
    model = load_model(out)
    assert model.head.box_decode == "yolov3"
    assert_matches_upstream(model, "yolobody-mnv2-voc")


@pytest.mark.parametrize(
    ("classes", "anchors", "message"),
    [(None, None, "missing --classes and --anchors"), (CLASSES, None, "missing --anchors")],
)
def test_side_files_are_named_when_missing(tmp_path: Path, classes, anchors, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        import_checkpoint(PTH, tmp_path / "m.pt", classes=classes, anchors=anchors)
    assert not (tmp_path / "m.pt").exists()


def test_other_commands_point_to_import() -> None:
    with pytest.raises(CheckpointError, match=r"edgeyolo import .* --classes"):
        load_checkpoint(PTH)


def test_wrong_class_count(tmp_path: Path) -> None:
    two = tmp_path / "classes.txt"
    two.write_text("a\nb\n")
    with pytest.raises(CheckpointError, match="names 2 classes"):
        import_checkpoint(PTH, tmp_path / "m.pt", classes=two, anchors=ANCHORS)
