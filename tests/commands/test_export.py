"""`edgeyolo export` end to end: checkpoints in, verified ONNX out, clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch

from edgeyolo.cli import main
from edgeyolo.export.metadata import read_metadata, sha256_file
from edgeyolo.models.checkpoint import save_checkpoint
from edgeyolo.models.yolo import create_model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = create_model("yolov4-lite-mobilenetv2", nc=2)
    model.names = ["person", "car"]
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "lite.pt", model, imgsz=96)


def test_export_checkpoint_with_report(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "lite.onnx"
    assert main(["export", "--weights", str(checkpoint), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is True and report["max_rel_error"] <= 1e-4
    assert set(report["stages"]) == {"unfused", "fused", "simplified"}
    meta = read_metadata(onnx.load(str(out)))
    assert meta.names == ("person", "car") and meta.imgsz == (96, 96)  # the checkpoint's imgsz
    assert meta.source_sha256 == sha256_file(checkpoint)


def test_default_output_path_is_beside_the_weights(checkpoint: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["export", "--weights", str(checkpoint), "--outputs", "decoded", "--dynamic"]) == 0
    assert "verification PASSED" in capsys.readouterr().out
    assert checkpoint.with_suffix(".onnx").exists()


def _no_onnx_left(folder: Path) -> bool:
    return not any(p.suffix in (".onnx", ".tmp") for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--weights", "missing.pt"], "does not exist"),
        (["--weights", "{notckpt}"], "not a PyTorch checkpoint: it holds text"),
        (["--weights", "{ckpt}", "--cfg", "yolov5-mobilenetv2"], "do not fit the model config"),
        (["--weights", "{ckpt}", "--imgsz", "100"], "multiples of the model's largest stride 32"),
        (["--cfg", "yolov5-mobilenetv2", "--opset", "12"], "opset 12 is too old"),
        (["--weights", "{ckpt}", "--nc", "3"], "--nc cannot be combined with --weights"),
    ],
)
def test_bad_input_exits_nonzero_and_leaves_nothing(
    argv: list[str], message: str, checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    notckpt = tmp_path / "notes.pt"
    notckpt.write_text("these are not weights")
    argv = [a.format(ckpt=checkpoint, notckpt=notckpt) for a in argv]
    out = tmp_path / "out" / "m.onnx"
    assert (
        main(
            ["export", *argv, "-o", str(out), "--imgsz", "64"]
            if "--imgsz" not in argv
            else ["export", *argv, "-o", str(out)]
        )
        == 2
    )
    assert message in capsys.readouterr().err
    assert _no_onnx_left(tmp_path)


def test_unwritable_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    assert (
        main(["export", "--cfg", "yolov5-mobilenetv2", "--imgsz", "64", "-o", str(blocker / "m.onnx")]) == 2
    )
    assert "is not a writable directory" in capsys.readouterr().err


def test_malicious_checkpoint_needs_trust(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = create_model("yolov5-mobilenetv2", nc=1)
    path = tmp_path / "odd.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "cfg": model.cfg.text,
            "names": ["x"],
            "imgsz": 64,
            "meta": {"obj": _Custom()},
        },
        path,
    )
    assert main(["export", "--weights", str(path), "-o", str(tmp_path / "m.onnx")]) == 2
    assert "--trust-checkpoint" in capsys.readouterr().err
    assert _no_onnx_left(tmp_path)


class _Custom:
    pass
