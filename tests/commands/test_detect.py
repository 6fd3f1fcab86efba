"""`edgeyolo detect` on folders and videos, its outputs, its errors, and that it needs no torch."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeyolo.cli import main
from tests.conftest import run_without_torch

torch = pytest.importorskip("torch")
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx  # noqa: E402
from edgeyolo.models.fuse import randomize_batchnorm  # noqa: E402
from edgeyolo.models.yolo import create_model  # noqa: E402


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5-mobilenetv2", nc=2), seed=3).eval()
    with torch.no_grad():
        for conv in model.head.m:
            conv.bias.view(model.head.na, -1)[:, 4] += 4.0
            conv.bias.view(model.head.na, -1)[:, 5:] += 2.5
    model.names = ["ball", "box"]
    path = tmp_path_factory.mktemp("m") / "m.onnx"
    export_onnx(model, path, OnnxExportOptions(imgsz=(96, 128), report_unfused=False))
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f"img{i}.jpg"), rng.integers(0, 255, (120 + 10 * i, 160, 3), dtype=np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def test_folder_with_save_txt_and_json(model_path, images, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    argv = [
        "detect",
        "--model",
        str(model_path),
        "--source",
        str(images),
        "--save",
        str(out),
        "--save-txt",
        "--json",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [Path(r["path"]).name for r in records] == ["img0.jpg", "img1.jpg", "img2.jpg"]
    assert all(r["names"] == ["ball", "box"] for r in records)
    assert "broken.jpg" in captured.err  # reported once and skipped
    assert captured.err.count("broken.jpg") == 1
    for r in records:
        name = Path(r["path"]).name
        saved = cv2.imread(str(out / name))
        assert saved is not None and saved.shape == cv2.imread(str(images / name)).shape
        label_lines = (out / "labels" / f"{Path(name).stem}.txt").read_text().splitlines()
        assert len(label_lines) == len(r["detections"])
        for line in label_lines:
            cls, *vals = line.split()
            assert int(cls) in (0, 1) and all(0.0 <= float(v) <= 1.0 for v in vals)


def test_video_is_saved_as_video(model_path, tmp_path, capsys) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(6):
        writer.write(np.full((120, 160, 3), 40 * i, np.uint8))
    writer.release()
    out = tmp_path / "out"
    assert main(["detect", "--model", str(model_path), "--source", str(video), "--save", str(out)]) == 0
    assert "6 frames" in capsys.readouterr().err
    cap = cv2.VideoCapture(str(out / "clip.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "missing.onnx", "--source", "{images}"], "does not exist"),
        (["--model", "{model}", "--source", "/no/such/folder"], "cannot open source"),
        (["--model", "{model}", "--source", "{images}", "--save-txt"], "--save-txt needs --save"),
        (["--model", "{model}", "--source", "{images}", "--classes", "5"], "classes must be ids"),
    ],
)
def test_errors(argv, message, model_path, images, capsys) -> None:
    argv = [a.format(model=model_path, images=images) for a in argv]
    assert main(["detect", *argv]) == 2
    assert message in capsys.readouterr().err


def test_detect_and_runtime_work_without_torch(model_path, images) -> None:
    code = (
        "from edgeyolo.cli import main\n"
        f"rc = main(['detect', '--model', {str(model_path)!r}, '--source', {str(images)!r}, '--json'])\n"
        "from edgeyolo.runtime import Detector\n"
        "import cv2\n"
        f"det = Detector({str(model_path)!r}, conf=0.3)\n"
        f"print('dets', len(det.detect(cv2.imread({str(images / 'img0.jpg')!r}))))\n"
        "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules)\n"
        "raise SystemExit(rc)\n"
    )
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count('"detections"') == 3 and "dets " in result.stdout
