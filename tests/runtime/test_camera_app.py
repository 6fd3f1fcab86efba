"""The camera-app example imports without torch, and its MJPEG output is valid multipart JPEG."""

from __future__ import annotations

import http.client
import importlib.util

import cv2
import numpy as np

from tests.conftest import REPO, run_without_torch

APP = REPO / "examples" / "camera_app.py"


def load_app():
    spec = importlib.util.spec_from_file_location("camera_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_chunk(data: bytes) -> np.ndarray:
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, "no blank line after the part headers"
    lines = head.decode().split("\r\n")
    assert lines[0] == "--frame"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Content-Type"] == "image/jpeg"
    size = int(headers["Content-Length"])
    assert rest[size:] == b"\r\n"
    jpeg = rest[:size]
    assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def test_example_imports_without_torch():
    code = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("camera_app", {str(APP)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert callable(module.main) and callable(module.mjpeg_chunk)
print(sorted(m for m in ("torch", "onnx") if m in sys.modules))
"""
    out = run_without_torch(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_mjpeg_chunk_is_a_valid_multipart_jpeg_part():
    app = load_app()
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, 32:] = 255
    decoded = parse_chunk(app.mjpeg_chunk(image))
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image).mean() < 8


def test_mjpeg_server_streams_published_frames():
    app = load_app()
    server = app.MjpegServer(0)
    try:
        host, port = server.url.removeprefix("http://").rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/stream.mjpg")
        server.publish(np.full((32, 32, 3), 200, np.uint8))
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "multipart/x-mixed-replace; boundary=frame"
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += response.read(1)
        size = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        decoded = parse_chunk(head + response.read(size + 2))
        assert decoded.shape == (32, 32, 3) and abs(int(decoded.mean()) - 200) < 4
        conn.close()
    finally:
        server.close()


def test_the_app_tracks_and_counts_a_video(tmp_path, capsys):
    """--track --line on a short video of a shape crossing the line; the app serves frames and ends."""
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (256, 256))
    for f in range(40):
        frame = np.full((256, 256, 3), 90, np.uint8)
        cv2.circle(frame, (128, 40 + 5 * f), 20, (40, 200, 240), -1)
        writer.write(frame)
    writer.release()
    from edgeyolo.defaults import shipped_onnx

    app = load_app()
    args = ["--model", str(shipped_onnx()), "--source", str(video), "--track", "--line", "0,128,256,128"]
    assert app.main([*args, "--port", "0"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "line: in 1, out 0"
