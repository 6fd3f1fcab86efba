"""`edgeyolo bench --track`: a `track` stage beside the detector's, counted in end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeyolo.cli import main
from edgeyolo.defaults import shipped_onnx

QUICK = ["--iters", "4", "--warmup", "1", "--quiet"]


def test_track_stage_is_timed_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j = tmp_path / "b.json"
    assert main(["bench", "--model", str(shipped_onnx()), *QUICK, "--track", "--json", str(j)]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "decode+nms  track" in head or ("track" in head.split() and "decode+nms" in head)
    doc = json.loads(j.read_text())
    assert doc["settings"]["track"] == "bytetrack"
    (model,) = doc["models"]
    assert set(model["stages_ms"]) == {"letterbox", "inference", "postprocess", "track", "end_to_end"}
    samples = model["samples_ms"]
    for k in range(4):
        parts = sum(samples[s][k] for s in ("letterbox", "inference", "postprocess", "track"))
        assert samples["track"][k] > 0 and samples["end_to_end"][k] >= 0.99 * parts


def test_an_unknown_tracking_method_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", str(shipped_onnx()), *QUICK, "--track", "deepsort"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("error: --track must be one of bytetrack, got 'deepsort'")
