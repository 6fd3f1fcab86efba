"""`edgeyolo import`, and foreign checkpoints through the commands that take a `.pt`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from edgeyolo.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"
BEST80 = FIXTURES / "yolov5-mnv2-nc80-best.pt"
STATE3 = FIXTURES / "yolov5-mnv2-nc3-state_dict.pt"
CFG3 = FIXTURES / "yolov5-mnv2-nc3.yaml"
YB = "yolobody-mnv2-voc"


def _import_yolobody(folder: Path) -> Path:
    out = folder / "yolobody.pt"
    side = [
        "--classes",
        str(FIXTURES / f"{YB}-classes.txt"),
        "--anchors",
        str(FIXTURES / f"{YB}-anchors.txt"),
    ]
    assert main(["import", str(FIXTURES / f"{YB}.pth"), *side, "-o", str(out)]) == 0
    return out


def test_import_writes_native_checkpoint_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "model.pt"
    assert main(["import", str(BEST80), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "YOLOv5" and report["nc"] == 80 and report["imgsz"] == 320
    assert report["parameters"] == 127429 and report["strides"] == [8, 16, 32]
    assert any("Identity" in line for line in report["adapted"])
    assert out.is_file()
    assert main(["import", str(STATE3), "--cfg", str(CFG3), "-o", str(tmp_path / "sd.pt")]) == 0
    text = capsys.readouterr().out
    assert "YOLOv5 state_dict" in text and "parameters 114,176" in text
    assert main(["info", "--weights", str(out), "--json", "--imgsz", "96,128"]) == 0
    assert json.loads(capsys.readouterr().out)["names"][:2] == ["class0", "class1"]


@pytest.mark.parametrize(
    ("weights", "ref", "extra"),
    [
        (BEST80, "yolov5-mnv2-nc80", []),
        (STATE3, "yolov5-mnv2-nc3", ["--cfg", str(CFG3)]),
        (FIXTURES / "pytorch_yolov4-mnv3-nc4-best.pt", "pytorch_yolov4-mnv3-nc4-best", []),
        (YB, YB, []),
    ],
)
@pytest.mark.parametrize("outputs", ["raw", "decoded"])
def test_exported_onnx_equals_yolov5(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    weights: Path | str,
    ref: str,
    extra: list[str],
    outputs: str,
) -> None:
    out = tmp_path / "m.onnx"
    if weights == YB:
        weights = _import_yolobody(tmp_path)
    argv = ["export", "--weights", str(weights), *extra, "--imgsz", "96,128", "--outputs", outputs]
    assert main([*argv, "-o", str(out)]) == 0, capsys.readouterr().err
    expected = np.load(FIXTURES / f"{ref}.npz")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: expected["input"]})
    wanted = [expected[f"raw{i}"] for i in range(3)] if outputs == "raw" else [expected["decoded"]]
    assert len(got) == len(wanted)
    for g, w in zip(got, wanted, strict=True):
        assert g.shape == w.shape
        assert np.abs(g - w).max() <= 1e-4 * np.abs(w).max()


@pytest.mark.parametrize("fmt", ["yolov5", "yolobody"])
def test_detector_boxes_from_imported_model(tmp_path: Path, fmt: str) -> None:
    """The runtime's Detector on the exported model finds the box the training code's decoding gives (the
    imported PyTorch model's decoded output equals theirs, tested above): YOLOv5's decode, and document
    001's YOLOv3-style decode, which the exported contract carries as head 'yolov3-anchor'."""
    from edgeyolo.export.metadata import read_metadata
    from edgeyolo.models.checkpoint import load_model
    from edgeyolo.runtime import Detector

    weights, ref = (BEST80, "yolov5-mnv2-nc80") if fmt == "yolov5" else (_import_yolobody(tmp_path), YB)
    onnx_path = tmp_path / "m.onnx"
    assert main(["export", "--weights", str(weights), "--imgsz", "96,128", "-o", str(onnx_path)]) == 0
    head = read_metadata(onnx.load(str(onnx_path))).head
    assert head == ("yolov5-anchor" if fmt == "yolov5" else "yolov3-anchor")
    rgb = np.load(FIXTURES / f"{ref}.npz")["input"][0].transpose(1, 2, 0)
    frame = np.ascontiguousarray((rgb[..., ::-1] * 255).round().astype(np.uint8))  # BGR, 128x96
    model = load_model(weights)
    x = torch.from_numpy(np.ascontiguousarray(frame[..., ::-1].transpose(2, 0, 1)) / 255.0).float()[None]
    with torch.no_grad():
        dec = model(x)[0].numpy()
    scores = dec[:, 4:5] * dec[:, 5:]
    i, c = np.unravel_index(scores.argmax(), scores.shape)
    cx, cy, w, h = dec[i, :4]
    expected = np.clip([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 0, [128, 96, 128, 96])
    det = Detector(str(onnx_path), conf=float(scores.max()) * 0.999, iou=0.45).detect(frame)
    assert len(det) >= 1
    top = int(det.confidence.argmax())
    assert int(det.class_id[top]) == c
    assert abs(float(det.confidence[top]) - float(scores.max())) <= 1e-4
    assert np.allclose(det.xyxy[top], expected, atol=0.05)


def _write_evil(path: Path, marker: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"model": {"w": torch.zeros(1)}, "cfg": "", "names": [], "imgsz": 1, "x": Evil()}, path)


@pytest.mark.parametrize(
    "argv",
    [
        ["import", "{pt}", "-o", "{out}"],
        ["info", "--weights", "{pt}", "--trust-checkpoint"],
        ["export", "--weights", "{pt}", "-o", "{out}", "--trust-checkpoint"],
        ["detect", "--model", "{pt}", "--source", "{pt}"],
        ["val", "--model", "{pt}", "--data", "{pt}"],
    ],
)
def test_every_command_refuses_code_in_a_pickle(
    tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str]
) -> None:
    marker, pt, out = tmp_path / "marker", tmp_path / "evil.pt", tmp_path / "out.onnx"
    _write_evil(pt, marker)
    code = main([a.format(pt=pt, out=out) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and not marker.exists() and not out.exists()
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        ("truncated", [], "truncated or corrupt zip"),
        ("state_dict", [], "pass the YOLOv5 model YAML"),
        ("state_dict", ["--cfg", str(FIXTURES / "yolov5-mnv2-nc80.yaml")], "do not fit"),
        ("edgeyolo", [], "already an edgeyolo checkpoint"),
        ("missing", [], "does not exist"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture, make: str, extra: list[str], message: str
) -> None:
    src = tmp_path / "in.pt"
    if make == "truncated":
        data = BEST80.read_bytes()
        src.write_bytes(data[: len(data) // 3])
    elif make == "state_dict":
        src.write_bytes(STATE3.read_bytes())
    elif make == "edgeyolo":
        assert main(["import", str(BEST80), "-o", str(src)]) == 0
        capsys.readouterr()
    out = tmp_path / "out.pt"
    assert main(["import", str(src), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".*tmp"))
