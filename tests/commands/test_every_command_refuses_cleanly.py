"""Every `edgeyolo` subcommand, fed a bad input, prints one line and exits 2: never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgeyolo.cli import COMMANDS


def _cases(tmp: Path) -> dict[str, list[list[str]]]:
    text = tmp / "notes.txt"
    text.write_text("hello")
    fake_pt = tmp / "fake.pt"
    fake_pt.write_text("not a checkpoint")
    fake_onnx = tmp / "fake.onnx"
    fake_onnx.write_bytes(b"\x08\x07garbage")
    missing = str(tmp / "missing.pt")
    return {
        "info": [["--weights", missing], ["--weights", str(fake_pt)], ["--cfg", str(text)]],
        "import": [[missing, "-o", str(tmp / "o.pt")], [str(fake_pt), "-o", str(tmp / "o.pt")]],
        "export": [
            ["--weights", str(fake_pt), "-o", str(tmp / "o.onnx")],
            ["--model", str(fake_onnx), "--format", "onnx", "-o", str(tmp / "o.onnx")],
            ["--model", missing, "--format", "triton", "--repo", str(tmp / "repo")],
        ],
        "detect": [["--model", str(fake_onnx), "--source", str(text)], ["--model", missing, "--source", "0"]],
        "val": [["--model", str(fake_onnx), "--data", str(text)]],
        "bench": [["--model", str(fake_onnx), "--iters", "1", "--warmup", "0"], ["--model", missing]],
        "train": [["--cfg", "yolov5n-mobilenetv2", "--data", str(text), "--epochs", "1"]],
        "data": [["convert", "--from", "coco", str(text), str(tmp / "conv")]],
        "serve": [["--model", missing]],
    }


def test_every_subcommand_has_cases(tmp_path: Path) -> None:
    assert set(_cases(tmp_path)) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_input_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    for argv in _cases(tmp_path)[command]:
        proc = subprocess.run(
            [sys.executable, "-m", "edgeyolo.cli", command, *argv],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        lines = [line for line in proc.stderr.splitlines() if line.startswith("edgeyolo")]
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr, (argv, proc.stderr)
        assert len(lines) == 1 and ": error: " in lines[0], (argv, proc.stderr)
