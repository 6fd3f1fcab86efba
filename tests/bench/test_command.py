"""`edgeyolo bench` end to end on the shipped ONNX: reports, interleaved comparison, --data, refusals,
and a run where torch cannot be imported. Tiny runs (a handful of calls); no timing is asserted."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from edgeyolo.cli import main
from edgeyolo.commands.bench import quiet_idle_threads
from edgeyolo.defaults import SHIPPED_NAME, shipped_onnx
from tests.conftest import run_without_torch

ONNX = str(shipped_onnx())
QUICK = ["--iters", "5", "--warmup", "1", "--quiet"]
STAGES = {"letterbox", "inference", "postprocess", "end_to_end"}
STATS = {"n", "min", "median", "mean", "p90", "p99", "max", "std"}


def test_reports_on_the_shipped_onnx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "placeholder")  # so that teardown restores the caller's value
    monkeypatch.delenv("OMP_WAIT_POLICY")
    j, c, m = tmp_path / "b.json", tmp_path / "b.csv", tmp_path / "b.md"
    assert main(["bench", "--model", ONNX, *QUICK, "--json", str(j), "--csv", str(c), "--md", str(m)]) == 0
    table = capsys.readouterr().out
    assert "e2e median" in table and f"{SHIPPED_NAME}.onnx" in table

    doc = json.loads(j.read_text())
    assert doc["schema"] == "edgeyolo.bench/1"
    assert doc["settings"]["iters"] == 5 and doc["settings"]["warmup"] == 1
    env = doc["environment"]
    assert env["cpu"]["model"] and env["libraries"]["onnxruntime"]
    assert env["memory"]["peak_rss_mb"] > 0
    assert env["threads"]["env"]["OMP_WAIT_POLICY"] == "PASSIVE"  # idle torch threads sleep between turns
    (model,) = doc["models"]
    assert model["backend"] == "onnxruntime" and model["imgsz"] == [320, 320]
    assert model["details"]["spinning"] == "run"  # idle onnxruntime threads too
    assert set(model["stages_ms"]) == STAGES
    for stage in STAGES:
        s = model["stages_ms"][stage]
        assert set(s) == STATS and s["n"] == 5 and 0 < s["min"] <= s["median"] <= s["max"]
        assert len(model["samples_ms"][stage]) == 5
    assert model["fps"] > 0 and model["ratio_to_first"] == pytest.approx(1.0)

    rows = list(csv.DictReader(c.open()))
    assert {r["stage"] for r in rows} == STAGES and all(r["backend"] == "onnxruntime" for r in rows)
    md = m.read_text()
    assert "| model |" in md and "onnxruntime" in md.lower()


def test_a_chosen_openmp_wait_policy_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    quiet_idle_threads()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_two_models_interleaved_with_ratio(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    j = tmp_path / "b.json"
    args = ["bench", "--model", ONNX, "--backend", "onnxruntime", "openvino", *QUICK, "--json", str(j)]
    assert main(args) == 0
    models = json.loads(j.read_text())["models"]
    assert [m["backend"] for m in models] == ["onnxruntime", "openvino"]
    assert models[0]["ratio_to_first"] == pytest.approx(1.0)
    assert models[1]["ratio_to_first"] > 0
    assert "inference_precision" in models[1]["details"]  # what OpenVINO actually computed in
    assert all(len(m["samples_ms"]["end_to_end"]) == 5 for m in models)


def test_data_adds_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pycocotools")
    data = tmp_path / "d"
    assert main(["data", "synth", "--out", str(data), "--train", "0", "--val", "8", "--seed", "3",
                 "--imgsz", "256"]) == 0  # fmt: skip
    j = tmp_path / "b.json"
    assert main(["bench", "--model", ONNX, *QUICK, "--data", str(data / "data.yaml"), "--json", str(j)]) == 0
    assert "mAP50-95" in capsys.readouterr().out
    doc = json.loads(j.read_text())
    acc = doc["models"][0]["accuracy"]
    assert acc["images"] == 8 and 0.0 <= acc["map50_95"] <= acc["map50"] <= 1.0
    assert doc["settings"]["frames"] == "dataset images"


def test_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "b.png"
    assert (
        main(["bench", "--model", ONNX, "--iters", "3", "--warmup", "0", "--quiet", "--plot", str(png)]) == 0
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_jetson_refused_off_board(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--device", "jetson", "--model", ONNX, *QUICK]) != 0
    err = capsys.readouterr().err
    assert "not one" in err and "pip install edgeyolo" in err and "build the engine there" in err


def test_gpu_refused_without_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    from edgeyolo.commands.bench import _cuda_evidence

    if _cuda_evidence():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["bench", "--device", "gpu", "--model", ONNX, *QUICK]) != 0
    assert "--device gpu needs an NVIDIA GPU" in capsys.readouterr().err


def test_exported_model_at_other_size_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", ONNX, "--imgsz", "256", *QUICK]) != 0
    assert "exported for 320,320" in capsys.readouterr().err


def test_bench_without_torch(tmp_path: Path) -> None:
    j = tmp_path / "b.json"
    result = run_without_torch(
        "import os\n"
        f"os.environ['EDGEYOLO_CACHE'] = {str(tmp_path)!r}\n"
        "from edgeyolo.cli import main\n"
        f"rc = main(['bench', '--iters', '3', '--warmup', '1', '--quiet', '--json', {str(j)!r}])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "sys.exit(rc)\n",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(j.read_text())
    backends = [m["backend"] for m in doc["models"]]
    assert "onnxruntime" in backends and "torch" not in backends
    assert any("torch is not installed" in n for n in doc["notes"])


def test_baseline_row_and_speedups(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j = tmp_path / "b.json"
    args = ["bench", "--model", ONNX, ONNX, *QUICK, "--json", str(j)]
    assert main([*args, "--baseline", "2"]) == 0
    assert "baseline: " in capsys.readouterr().out
    first, second = json.loads(j.read_text())["models"]
    assert first["baseline"] == second["name"]
    assert second["speedup_vs_baseline"] == {"end_to_end": 1.0, "inference": 1.0}
    a, b = (np.asarray(m["samples_ms"]["inference"]) for m in (first, second))
    assert first["speedup_vs_baseline"]["inference"] == pytest.approx(float(np.median(b / a)), rel=1e-3)
    for bad in ("3", "no-such-row"):
        assert main([*args, "--baseline", bad]) == 2
        assert "--baseline" in capsys.readouterr().err
