"""`edgeyolo serve`: a real Triton server answers, and SIGTERM stops it and everything it started."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from edgeyolo.cli import main
from tests.serve.conftest import encoded_images, free_ports, pid_alive, raw_frames, require_triton


def test_sigterm_stops_the_server_and_its_children() -> None:
    require_triton()
    httpclient = pytest.importorskip("tritonclient.http")
    from tritonclient.utils import InferenceServerException

    http, grpc, metrics = free_ports(3)
    cmd = [sys.executable, "-m", "edgeyolo.cli", "serve", "--http-port", str(http), "--grpc-port", str(grpc),
           "--metrics-port", str(metrics), "--name", "shapes"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the server and model are ready (bounded below)
        match = re.search(r"Triton pid (\d+)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        triton_pid = int(match.group(1))
        client = httpclient.InferenceServerClient(f"127.0.0.1:{http}")
        image = encoded_images(1)[0]
        inp = httpclient.InferInput("IMAGE", [1, len(image)], "UINT8")
        inp.set_data_from_numpy(np.frombuffer(image, np.uint8)[None])
        assert client.infer("shapes", [inp]).as_numpy("NUM_DETECTIONS").shape == (1, 1)
        frames = np.stack(raw_frames(1) * 2)  # raw frames go to <name>_frames
        frame_inp = httpclient.InferInput("FRAME", list(frames.shape), "UINT8")
        frame_inp.set_data_from_numpy(frames)
        assert client.infer("shapes_frames", [frame_inp]).as_numpy("NUM_DETECTIONS").shape == (2, 1)
        with pytest.raises(InferenceServerException, match=r"(?i)unknown|not found|unavailable"):
            client.infer("edgeyolo", [inp])  # --name renames the served model
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5) as r:
            metrics_text = r.read()
        assert b"nv_inference_request_success" in metrics_text

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while pid_alive(triton_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(triton_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--http-port", "0"], "--http-port must be a TCP port"),
        (["--http-port", "9000", "--grpc-port", "9000"], "must differ"),
        (["--model", "missing.onnx"], "does not exist"),
    ],
)
def test_bad_arguments_exit_2(args, message, capsys) -> None:
    assert main(["serve", *args]) == 2
    assert message in capsys.readouterr().err


def test_serve_path_is_torch_free(tmp_path) -> None:
    from tests.conftest import run_without_torch

    code = (
        "import sys\n"
        "from edgeyolo.defaults import shipped_onnx\n"
        "from edgeyolo.export import ExportRequest, export\n"
        "import edgeyolo.serve.server\n"
        f"export(shipped_onnx(), ExportRequest(format='triton', ensemble='python', repo={str(tmp_path)!r}))\n"
        "from edgeyolo.cli import main\n"
        "sys.exit(main(['serve', '--http-port', '0']))\n"
    )
    result = run_without_torch(code)
    assert result.returncode == 2, result.stderr
    assert (tmp_path / "edgeyolo_model" / "1" / "model.onnx").is_file()
    assert (tmp_path / "edgeyolo_frames" / "config.pbtxt").is_file()
