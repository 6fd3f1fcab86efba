"""YOLOv5 checkpoints made by the real YOLOv5 v7.0 code (tests/fixtures/foreign/make_fixtures.py) load
through `load_model` and give YOLOv5's own outputs; nothing of YOLOv5 is importable here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from edgeyolo.models.checkpoint import load_checkpoint, load_model
from edgeyolo.models.foreign.report import import_checkpoint
from edgeyolo.models.yolo import DetectionModel, model_from_yaml_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "foreign"
CASES = [  # (file, reference outputs, model YAML for a plain state_dict)
    ("yolov5-mnv2-nc80-best.pt", "yolov5-mnv2-nc80", None),
    ("yolov5-mnv2-nc80-last.pt", "yolov5-mnv2-nc80", None),
    ("yolov5-mnv2-nc3-best.pt", "yolov5-mnv2-nc3", None),
    ("yolov5-mnv2-nc3-state_dict.pt", "yolov5-mnv2-nc3", "yolov5-mnv2-nc3.yaml"),
]


def outputs(model: DetectionModel, x: torch.Tensor) -> tuple[list[np.ndarray], np.ndarray]:
    model.head.mode = "raw"
    with torch.no_grad():
        raw = [t.numpy() for t in model(x)]
        model.head.mode = "decoded"
        decoded = model(x).numpy()
    return raw, decoded


def assert_matches_upstream(model: DetectionModel, ref_name: str, tol: float = 1e-4) -> None:
    ref = np.load(FIXTURES / f"{ref_name}.npz")
    raw, decoded = outputs(model, torch.from_numpy(ref["input"]))
    for i, r in enumerate(raw):
        expected = ref[f"raw{i}"]
        assert r.shape == expected.shape
        assert np.abs(r - expected).max() <= tol * np.abs(expected).max(), f"raw level {i}"
    assert decoded.shape == ref["decoded"].shape
    assert np.abs(decoded - ref["decoded"]).max() <= tol * np.abs(ref["decoded"]).max()


def cfg_text(name: str | None) -> str | None:
    return (FIXTURES / name).read_text() if name else None


def test_upstream_code_is_not_importable() -> None:
    # (a bare `models` namespace package may be on sys.path, e.g. onnxruntime's transformers tools put one
    # there; what must not be importable is YOLOv5's code)
    assert importlib.util.find_spec("ultralytics") is None
    assert importlib.util.find_spec("models") is None or importlib.util.find_spec("models.yolo") is None


@pytest.mark.parametrize(("name", "ref", "cfg"), CASES)
def test_loads_and_equals_yolov5_outputs(name: str, ref: str, cfg: str | None) -> None:
    model = load_model(FIXTURES / name, cfg_text=cfg_text(cfg))
    assert_matches_upstream(model, ref)


@pytest.mark.parametrize(("name", "ref", "cfg"), CASES[1:])
def test_native_checkpoint_reloads_exactly(tmp_path: Path, name: str, ref: str, cfg: str | None) -> None:
    out = tmp_path / "native.pt"
    report = import_checkpoint(FIXTURES / name, out, cfg_text(cfg))
    assert out.is_file() and not list(tmp_path.glob(".*tmp"))
    native = load_checkpoint(out)  # a plain edgeyolo checkpoint now: no foreign classes, weights-only
    assert native.meta["imported_from"]["format"] == report["format"]
    assert native.meta["overrides"]["bn"]  # BN eps/momentum travel with it
    assert_matches_upstream(load_model(out), ref)


def test_what_the_checkpoint_holds_is_what_is_rebuilt() -> None:
    ckpt = load_checkpoint(FIXTURES / "yolov5-mnv2-nc80-last.pt")
    adapted = " | ".join(ckpt.meta["adapted"])
    assert "from 'ema'" in adapted and "fp16" in adapted and "0.001/0.03" in adapted
    assert ckpt.imgsz == 320  # from opt
    assert ckpt.names == [f"class{i}" for i in range(80)]
    overrides = ckpt.meta["overrides"]
    # document 004's act='ReLU' string: YOLOv5 built no activation inside MobileNetV2_Block
    assert overrides["act"]["model.2.conv.0.act"] == "Identity"
    assert all(v == "Identity" for v in overrides["act"].values())
    assert ckpt.state_dict["model.28.stride"].tolist() == [8.0, 16.0, 32.0]
    assert ckpt.state_dict["model.28.anchors"][0].flatten().tolist() == [10, 13, 16, 30, 33, 23]


def test_nc3_keeps_yolov5s_unscaled_24_channels() -> None:
    ckpt = load_checkpoint(FIXTURES / "yolov5-mnv2-nc3-best.pt")
    assert ckpt.state_dict["model.2.conv.2.conv.weight"].shape[0] == 24  # not 24 * 0.125 -> 8
    assert any("na*(nc+5)=24" in line for line in ckpt.meta["adapted"])


def test_without_the_overrides_outputs_differ() -> None:
    """The fixtures are sensitive: building the YAML with edgeyolo's defaults (ReLU in the MobileNetV2
    blocks, BN eps 1e-5) does not reproduce YOLOv5's outputs."""
    ckpt = load_checkpoint(FIXTURES / "yolov5-mnv2-nc80-best.pt")
    plain = model_from_yaml_text(ckpt.cfg).eval()
    plain.load_state_dict(ckpt.state_dict)
    with pytest.raises(AssertionError):
        assert_matches_upstream(plain, "yolov5-mnv2-nc80", tol=1e-3)
