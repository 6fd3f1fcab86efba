"""`edgeyolo info` prints the documents' table and machine-readable figures."""

from __future__ import annotations

import json

import pytest

from edgeyolo.cli import main


def test_info_json(capsys: pytest.CaptureFixture) -> None:
    assert main(["info", "--cfg", "yolov5-mobilenetv2", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 5_662_397
    assert isinstance(info["layers"], int) and info["layers"] > 100
    assert info["strides"] == [8, 16, 32]
    assert abs(info["gflops"] - 11.5) <= 0.2  # seed 004 prints 11.5 (thop)


def test_info_gflops_scale_with_imgsz(capsys: pytest.CaptureFixture) -> None:
    main(["info", "--json", "--imgsz", "320"])
    small = json.loads(capsys.readouterr().out)["gflops"]
    main(["info", "--json", "--imgsz", "320,640"])
    wide = json.loads(capsys.readouterr().out)["gflops"]
    assert wide == pytest.approx(2 * small, rel=1e-6)


def test_info_mobilenetv4_gflops(capsys: pytest.CaptureFixture) -> None:
    # Seed 003 prints 58.1: its MobileNetV4 registers every stage twice (attributes and a `features`
    # ModuleList), so thop counts the 4.1 backbone GFLOPs four times. The real figure is ~45.8.
    main(["info", "--cfg", "yolov5-mobilenetv4-conv-small", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 26_179_933
    assert 45.5 <= info["gflops"] <= 46.0


def test_info_table(capsys: pytest.CaptureFixture) -> None:
    assert main(["info", "--cfg", "yolov4-pacsp", "--nc", "4"]) == 0
    out = capsys.readouterr().out
    assert "SPPCSP" in out and "7610368" in out
    assert "52515505 parameters" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "--cfg", "no-such-model"], "no model config"),
        (["info", "--imgsz", "100"], "not a multiple of the model's largest stride 32"),
        (["info", "--weights", "/nonexistent/x.pt"], "does not exist"),
    ],
)
def test_info_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_imgsz_is_an_argument_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["info", "--imgsz", "-32"])
    assert "positive" in capsys.readouterr().err
