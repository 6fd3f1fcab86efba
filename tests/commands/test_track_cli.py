"""`edgeyolo detect --track`, `val --track` and `data synth --video` end to end on the shipped ONNX model."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from edgeyolo.cli import main


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mot") / "seqs"
    args = [
        "data",
        "synth",
        "--video",
        "--out",
        str(out),
        "--sequences",
        "1",
        "--frames",
        "60",
        "--seed",
        "5",
    ]
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def clip(sequences: Path) -> Path:
    frames = sorted((sequences / "synth-01" / "img1").glob("*.png"))
    first = cv2.imread(str(frames[0]))
    path = sequences.parent / "clip.avi"
    video = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, first.shape[1::-1])
    for f in frames:
        video.write(cv2.imread(str(f)))
    video.release()
    return path


def test_detect_track_draws_ids_and_counts(clip: Path, tmp_path: Path, capsys) -> None:
    args = [
        "detect",
        "--source",
        str(clip),
        "--track",
        "--conf",
        "0.1",
        "--json",
        "--save",
        str(tmp_path / "o"),
    ]
    args += ["--line", "0,128,256,128", "--zone", "0,0,128,0,128,256,0,256"]
    assert main(args) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert len(lines) == 60 and all(rec["tracked"] for rec in lines)
    ids = {d["tracker_id"] for rec in lines for d in rec["detections"]}
    assert ids and min(ids) >= 0
    last = lines[-1]
    assert set(last["line"]) == {"in", "out", "per_class"} and set(last["zone"]) == {
        "count",
        "entered",
        "per_class",
    }
    assert last["zone"]["entered"] >= 1
    assert "tracking: " in captured.err and "identities" in captured.err
    assert (tmp_path / "o" / "clip.avi").stat().st_size > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--line", "0,10,100,10"], "--line and --zone count tracked objects: add --track"),
        (["--track", "--line", "5,5,5,5"], "--line: line has zero length"),
        (
            ["--track", "--line=-50,-10,-10,-50"],
            "--line: line (-50.0, -10.0) -> (-10.0, -50.0) lies outside",
        ),
        (["--track", "--zone", "0,0,10,10,10,0,0,10"], "--zone: polygon intersects itself"),
        (["--track", "--zone", "0,0,10,10,20,20"], "--zone: polygon has zero area"),
        (["--track", "--max-detections", "0"], "--max-detections must be an integer ≥ 1"),
    ],
)
def test_detect_track_refusals_are_one_line(clip: Path, capsys, extra: list[str], message: str) -> None:
    assert main(["detect", "--source", str(clip), "--max-frames", "2", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "".join(err)


def test_a_two_point_zone_is_refused_by_the_parser(clip: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["detect", "--source", str(clip), "--track", "--zone", "0,0,10,10"])
    assert exc.value.code == 2 and "at least 3 x,y points" in capsys.readouterr().err


def test_val_track_prints_the_table_and_json(sequences: Path, capsys) -> None:
    assert main(["val", "--track", str(sequences)]) == 0
    out = capsys.readouterr().out
    assert "HOTA" in out and "IDF1" in out and "COMBINED" in out
    assert main(["val", "--track", str(sequences), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    c = doc["combined"]
    assert set(c) == {"HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "GT", "IDSW/1k"}
    assert c["IDF1"] > 0.6 and c["GT"] > 100 and doc["settings"]["conf"] == 0.1


def test_val_track_noise_reports_the_ceiling(sequences: Path, tmp_path: Path, capsys) -> None:
    args = ["val", "--track", str(sequences), "--noise", "--json", "--save", str(tmp_path / "res")]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ceiling"]["IDF1"] > 0.5 and 0.9 <= doc["idf1_of_ceiling"] <= 1.1
    assert (tmp_path / "res" / "synth-01.txt").read_text().count("\n") > 100


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "x.yaml"], "not both"),
        (["--noise", "--model", "m.onnx"], "takes no --model"),
        (["--duplicate-iou", "2"], r"--duplicate-iou must be a number in [0, 1]"),
    ],
)
def test_val_track_refusals(sequences: Path, capsys, extra: list[str], message: str) -> None:
    assert main(["val", "--track", str(sequences), *extra]) == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
