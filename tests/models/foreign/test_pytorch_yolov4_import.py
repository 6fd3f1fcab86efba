"""PyTorch_YOLOv4 (u5_mish_preview) checkpoints with design document 002's MobileNetV3 blocks, made by the
real upstream code (tests/fixtures/foreign/make_fixtures.py), load and give its own outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeyolo.models.checkpoint import load_checkpoint, load_model
from edgeyolo.models.foreign.report import import_checkpoint
from tests.models.foreign.test_yolov5_import import FIXTURES, assert_matches_upstream

NAME = "pytorch_yolov4-mnv3-nc4"


@pytest.mark.parametrize("kind", ["last", "best"])
def test_loads_and_equals_upstream_outputs(kind: str) -> None:
    assert_matches_upstream(load_model(FIXTURES / f"{NAME}-{kind}.pt"), f"{NAME}-{kind}")


def test_layout_is_converted() -> None:
    ckpt = load_checkpoint(FIXTURES / f"{NAME}-best.pt")
    assert ckpt.meta["imported_from"]["format"] == "PyTorch_YOLOv4"
    assert ckpt.names == ["vehicle0", "vehicle1", "vehicle2", "vehicle3"]
    assert not any(k.endswith("anchor_grid") for k in ckpt.state_dict)
    assert ckpt.state_dict["model.29.m.0.weight"].shape[0] == 27  # output convs folded into Detect
    assert ckpt.state_dict["model.29.anchors"][2].flatten().tolist() == [142, 110, 192, 243, 459, 401]
    assert "activation: Mish" in ckpt.cfg
    assert ckpt.meta["overrides"]["bn"]["model.0.bn"] == [1e-4, 0.03]  # its initialize_weights


def test_native_checkpoint_reloads_exactly(tmp_path: Path) -> None:
    out = tmp_path / "native.pt"
    report = import_checkpoint(FIXTURES / f"{NAME}-last.pt", out)
    assert report["parameters"] == 153929  # upstream's own count for this model
    assert_matches_upstream(load_model(out), f"{NAME}-last")
