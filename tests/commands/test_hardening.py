"""Issue 17: each defect found by the bad-input probe, reproduced as a user meets it, now a one-line error."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from edgeyolo.cli import main
from tests.commands.bad_inputs import (
    SMALL_CFG,
    cfg_with,
    cfg_with_row,
    recompress,
    small_payload,
    with_tensor,
    write_payload,
)
from tests.val_helpers import make_dataset

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def payload() -> dict:
    return small_payload()


def one_line_error(capsys: pytest.CaptureFixture, argv: list[str], *fragments: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


# -- 2: a label class of nan / inf is a reported, skipped line -------------------------------------------
@pytest.mark.parametrize("cls", ["nan", "inf", "-inf", "1e400"])
def test_nonfinite_label_class_is_reported_and_skipped(cls: str, tmp_path: Path, capsys) -> None:
    pytest.importorskip("pycocotools")
    from edgeyolo.models.checkpoint import save_checkpoint
    from edgeyolo.models.yolo import create_model

    data = make_dataset(tmp_path / "ds", ["ball", "box"])
    label = next((tmp_path / "ds" / "labels" / "val").glob("*.txt"))
    label.write_text(label.read_text() + f"{cls} 0.5 0.5 0.1 0.1\n")
    pt = save_checkpoint(tmp_path / "m.pt", create_model(SMALL_CFG, nc=2).eval(), imgsz=64)
    assert main(["val", "--model", str(pt), "--data", str(data), "--json", "--imgsz", "64"]) == 0
    err = capsys.readouterr().err
    assert f"{label}:2: class {cls} is not an id in [0, 1]; line skipped" in err and "Traceback" not in err


def test_nonfinite_label_class_in_the_reader_train_uses(tmp_path: Path) -> None:
    from edgeyolo.data.formats import read_labels

    label = tmp_path / "x.txt"
    label.write_text("nan 0.5 0.5 0.1 0.1\ninf 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.25 0.25\n")
    seen: list[str] = []
    assert read_labels(label, 2, seen.append).tolist() == [[1.0, 0.5, 0.5, 0.25, 0.25]]
    assert [m.split(": ", 1)[1] for m in seen] == [
        "class nan is not an id in [0, 1]; line skipped",
        "class inf is not an id in [0, 1]; line skipped",
    ]


# -- 3: checkpoint fields of the wrong type, NaN tensors --------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"imgsz": "abc"}, "'imgsz' must be an integer"),
        ({"imgsz": None}, "'imgsz' must be an integer"),
        ({"imgsz": 10**9}, "'imgsz' must be an integer in [1, 8192]"),
        ({"meta": [1, 2, 3]}, "'meta' must be a mapping"),
        ({"names": [None, {}]}, "'names' must be a list of strings"),
        ({"cfg": 3}, "'cfg' must be YAML text"),
    ],
)
@pytest.mark.parametrize("command", ["info", "detect"])
def test_checkpoint_fields_of_the_wrong_type(change, message, command, payload, tmp_path, capsys) -> None:
    pt = write_payload(tmp_path / "bad.pt", payload, **change)
    argv = (
        ["info", "--weights", str(pt)]
        if command == "info"
        else ["detect", "--model", str(pt), "--source", str(tmp_path / "none.jpg")]
    )
    one_line_error(capsys, argv, message)


@pytest.mark.parametrize("key", ["model.28.stride", "model.28.anchors", "model.0.conv.weight"])
@pytest.mark.parametrize("fill", [math.nan, math.inf])
def test_nonfinite_checkpoint_tensors(key: str, fill: float, payload, tmp_path, capsys) -> None:
    pt = write_payload(tmp_path / "nan.pt", payload, model=with_tensor(payload, key, fill))
    one_line_error(capsys, ["info", "--weights", str(pt)], f"tensor {key!r} holds NaN or infinite values")


def test_stride_buffer_that_disagrees_with_the_config(payload, tmp_path, capsys) -> None:
    pt = write_payload(tmp_path / "s.pt", payload, model=with_tensor(payload, "model.28.stride", 7.0))
    one_line_error(capsys, ["info", "--weights", str(pt)], "stride buffer [7.0, 7.0, 7.0] does not match")


# -- 4: say what a file that is not a checkpoint is; advise trust only where it helps ----------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "not a PyTorch checkpoint: it holds text beginning 'hello'"),
        (b"model: yolov5s\nnames: [a]\n", "not a PyTorch checkpoint: it holds text"),
        (b"\x00\x01\x02\xff\xfe", "not a PyTorch checkpoint: it holds binary data"),
        (b"", "the file is empty"),
        (b"PK\x03\x04" + bytes(100), "a truncated or corrupt zip archive"),
    ],
)
@pytest.mark.parametrize("trust", [False, True])
def test_not_a_checkpoint_is_named(content: bytes, message: str, trust: bool, tmp_path, capsys) -> None:
    pt = tmp_path / "f.pt"
    pt.write_bytes(content)
    argv = ["info", "--weights", str(pt)] + (["--trust-checkpoint"] if trust else [])
    err = one_line_error(capsys, argv, message)
    assert "trust" not in err


def test_truncated_checkpoint(tmp_path, capsys) -> None:
    from edgeyolo.defaults import shipped_weights

    data = shipped_weights().read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    one_line_error(capsys, ["info", "--weights", str(tmp_path / "t.pt")], "truncated or corrupt zip")


def test_zip_that_is_not_a_torch_file(tmp_path, capsys) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "z.pt", "w") as z:
        z.writestr("readme.txt", "hi")
    argv = ["info", "--weights", str(tmp_path / "z.pt")]
    one_line_error(capsys, argv, "not a PyTorch file (it has no data.pkl)")


def test_trusted_checkpoint_that_cannot_be_unpickled_is_a_one_line_error(tmp_path, capsys) -> None:
    import sys
    import types

    # a pickle of a class from a module that exists only while it is saved (another project's code)
    module = types.ModuleType("edgeyolo_gone_module")
    ghost = type("Ghost", (), {"__module__": module.__name__})
    module.Ghost = ghost
    sys.modules[module.__name__] = module
    pt = tmp_path / "u.pt"
    try:
        torch.save({"x": ghost()}, pt)
    finally:
        del sys.modules[module.__name__]
    # a class that is neither edgeyolo's nor on the foreign-checkpoint allow-list is refused by name,
    # with or without --trust-checkpoint (issue 14): one line, never a traceback, never unpickled
    for argv in (["info", "--weights", str(pt)], ["info", "--weights", str(pt), "--trust-checkpoint"]):
        one_line_error(capsys, argv, "edgeyolo_gone_module.Ghost", "never loads")


# -- 5 / 6: model YAML values of the wrong type, and absurd sizes refused before allocation ----------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"width_multiple": "abc"}, "'width_multiple' must be a finite number > 0, got 'abc'"),
        ({"width_multiple": math.inf}, "'width_multiple' must be a finite number > 0, got inf"),
        ({"depth_multiple": math.nan}, "'depth_multiple' must be a finite number > 0"),
        ({"depth_multiple": -1}, "'depth_multiple' must be a finite number > 0"),
        ({"nc": "two"}, "'nc' must be a positive integer"),
        ({"width_multiple": 1000}, "refuses models above 100,000,000"),
        ({"nc": 10**7}, "refuses models above 100,000,000"),
        ({"depth_multiple": 1000}, "at most 100 per row"),
    ],
)
def test_model_yaml_values(changes: dict, message: str, tmp_path, capsys) -> None:
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    one_line_error(capsys, ["info", "--cfg", str(cfg_with(tmp_path / "m.yaml", **changes))], message)
    assert time.perf_counter() - start < 30
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300_000  # KiB: nothing was built


def test_row_number_of_a_million(tmp_path, capsys) -> None:
    cfg = cfg_with_row(tmp_path / "m.yaml", "head", 1, 1, 10**6)
    one_line_error(capsys, ["info", "--cfg", str(cfg)], "stacks 330000 modules; at most 100 per row")


def test_row_channels_overflow(tmp_path, capsys) -> None:
    cfg = cfg_with_row(tmp_path / "m.yaml", "head", 0, 3, [1e308, 1, 1])
    one_line_error(capsys, ["info", "--cfg", str(cfg)], "m.yaml:")


# -- 7: a storage that would inflate is refused before reading; sizes checked against the file -------------
def test_compressed_storage_is_not_inflated(payload, tmp_path, capsys) -> None:
    import resource

    plain = write_payload(tmp_path / "plain.pt", payload)
    bomb = recompress(plain, tmp_path / "bomb.pt", inflate_to=256 * 2**20)
    assert bomb.stat().st_size < 2 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for argv in (["info", "--weights", str(bomb)], ["detect", "--model", str(bomb), "--source", "x.jpg"]):
        one_line_error(capsys, argv, "is compressed, which torch.save never writes")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_declared_storage_larger_than_any_model(monkeypatch, tmp_path, capsys) -> None:
    from edgeyolo.defaults import shipped_weights
    from edgeyolo.models import checkpoint_file

    monkeypatch.setattr(checkpoint_file, "MAX_STORAGE_BYTES", 2**20)  # the real figure needs an 800 MiB file
    shutil.copy(shipped_weights(), tmp_path / "w.pt")
    one_line_error(capsys, ["info", "--weights", str(tmp_path / "w.pt")], "its tensors declare 5 MiB")


def test_torch_backend_reads_the_checkpoint_once(payload, tmp_path, monkeypatch) -> None:
    from edgeyolo.models import checkpoint
    from edgeyolo.runtime import Detector

    pt = write_payload(tmp_path / "m.pt", payload)
    calls = []
    real = checkpoint.torch.load
    monkeypatch.setattr(checkpoint.torch, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    with Detector(pt) as det:
        assert det.contract.imgsz == (64, 64)
    assert len(calls) == 1


# -- 1: the metadata record is checked against the graph when the model loads ------------------------------
@pytest.fixture(scope="module")
def frame_path(tmp_path_factory) -> Path:
    import cv2
    import numpy as np

    path = tmp_path_factory.mktemp("frame") / "f.jpg"
    cv2.imwrite(str(path), np.full((48, 64, 3), 100, np.uint8))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"names": ["a", "b"]}, "output 'p3' has shape [1, 30, 40, 40], expected [B, 21, H, W]"),
        (
            {"strides": [8, 16, 32, 64], "anchors": [[10, 13, 16, 30, 33, 23]] * 4},
            "4 strides [8, 16, 32, 64] but the graph has 3 outputs",
        ),
        ({"outputs": "decoded"}, "expected one output [B, N, 10] (5 + nc)"),
        ({"outputs": "nms"}, "expected outputs [B, max_det, 6] and num_dets [B]"),
        ({"input": "uint8-nhwc-bgr"}, "expected [B, H, W, 3] for uint8-nhwc-bgr"),
        ({"imgsz": [640, 640]}, "input 'images' has shape [1, 3, 320, 320], but imgsz is [640, 640]"),
        ({"strides": [4, 8, 16]}, "but stride 4 at imgsz [320, 320] gives 80x80"),
    ],
)
@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_metadata_that_does_not_match_the_graph(
    changes, message, backend, frame_path, tmp_path, capsys
) -> None:
    pytest.importorskip("onnx")
    if backend == "openvino":
        pytest.importorskip("openvino")
    from edgeyolo.defaults import shipped_onnx
    from tests.commands.bad_inputs import onnx_with_metadata

    bad = onnx_with_metadata(shipped_onnx(), tmp_path / "bad.onnx", **changes)
    argv = ["detect", "--model", str(bad), "--backend", backend, "--source", str(frame_path)]
    one_line_error(capsys, argv, "metadata does not match its graph", message)


def test_matching_metadata_still_loads(frame_path, capsys) -> None:
    assert main(["detect", "--source", str(frame_path), "--json"]) == 0


# -- 9: a stream that never connects ends `detect` with an error ------------------------------------------
def test_detect_gives_up_on_a_stream_that_never_connects(capsys) -> None:
    import socket
    import time

    from edgeyolo.cli import build_parser

    assert build_parser().parse_args(["detect", "--source", "0"]).connect_timeout <= 30
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.mjpg"
    start = time.monotonic()
    argv = ["detect", "--source", url, "--max-frames", "5", "--connect-timeout", "1"]
    assert main(argv) == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith(f"edgeyolo detect: error: live source {url}: no frame within 1 s")
    assert sum(line.startswith("edgeyolo detect: error:") for line in err) == 1


# -- 10: a killed export's temporaries are removed by the next export to that folder -----------------------
def test_next_export_removes_what_a_killed_export_left(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "m.onnx"
    # what a killed export leaves: its writer dies inside the atomic write (the real window is milliseconds
    # long, too short to hit reliably with a signal from outside)
    killed = (
        "import os, signal, sys\nfrom edgeyolo.atomic import atomic_output\n"
        "with atomic_output(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(bytes(5 << 20))\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert subprocess.run([sys.executable, "-c", killed, str(out)]).returncode == -9
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 1 and left[0].startswith(".m.onnx.") and left[0].endswith(".tmp")
    (tmp_path / "notes.tmp").write_text("mine")
    (tmp_path / ".m.onnx.tmp").write_text("mine too")
    argv = [sys.executable, "-m", "edgeyolo.cli", "export", "--cfg", SMALL_CFG, "--nc", "2"]
    argv += ["--imgsz", "64", "--no-verify", "--no-simplify", "-o", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.onnx.tmp", "m.onnx", "notes.tmp"]
    assert f"left in {tmp_path} by an interrupted write: {', '.join(left)}" in done.stderr


def test_openvino_ir_whose_record_does_not_match_its_graph(frame_path, tmp_path, capsys) -> None:
    ov = pytest.importorskip("openvino")
    import json

    from edgeyolo.defaults import shipped_onnx
    from edgeyolo.runtime.contract import Contract

    model = ov.convert_model(str(shipped_onnx()))
    record = json.loads(Contract.from_json(str(model.get_rt_info(["framework", "edgeyolo"]).value)).to_json())
    record["names"] = ["a", "b", "c"]
    record.pop("nc")
    model.set_rt_info(json.dumps(record), "edgeyolo")
    ov.save_model(model, str(tmp_path / "ir" / "model.xml"))
    argv = ["detect", "--model", str(tmp_path / "ir"), "--source", str(frame_path)]
    one_line_error(capsys, argv, "metadata does not match its graph", "expected [B, 24, H, W]")
