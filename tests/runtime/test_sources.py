"""Frame sources with real OpenCV: image folders, video files and a live MJPEG-over-HTTP stream."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeyolo.runtime.sources import (
    Frame,
    ImageFilesSource,
    LiveSource,
    Source,
    VideoFileSource,
    open_source,
)

# -- a frame counter that survives JPEG: 16 bits as flat 16x16 squares of a 64x64 image ------------------
SIDE, CELL = 64, 16


def counter_image(n: int) -> np.ndarray:
    img = np.zeros((SIDE, SIDE, 3), np.uint8)
    for bit in range(16):
        r, c = divmod(bit, 4)
        if (n >> bit) & 1:
            img[r * CELL : (r + 1) * CELL, c * CELL : (c + 1) * CELL] = 255
    return img


def read_counter(img: np.ndarray) -> int:
    assert img.shape == (SIDE, SIDE, 3) and img.dtype == np.uint8
    n = 0
    for bit in range(16):
        r, c = divmod(bit, 4)
        if img[r * CELL + 4 : (r + 1) * CELL - 4, c * CELL + 4 : (c + 1) * CELL - 4].mean() > 128:
            n |= 1 << bit
    return n


def test_counter_encoding_survives_jpeg():
    for n in (0, 1, 37, 1000, 0xFFFF):
        jpg = cv2.imencode(".jpg", counter_image(n), [cv2.IMWRITE_JPEG_QUALITY, 60])[1]
        assert read_counter(cv2.imdecode(jpg, cv2.IMREAD_COLOR)) == n


# -- image files ------------------------------------------------------------------------------------------
def write_image(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(path.suffix.lower(), image)
    assert ok
    path.write_bytes(data.tobytes())


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    for i, name in enumerate(["b.png", "a.jpg", "d.bmp", "c.PNG"]):
        write_image(tmp_path / name, counter_image(i + 1))
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    write_image(tmp_path / "sub" / "e.png", counter_image(9))
    return tmp_path


def test_folder_yields_good_images_sorted_and_reports_a_corrupt_one_once(image_folder: Path):
    messages: list[str] = []
    with open_source(image_folder, on_warning=messages.append) as source:
        assert isinstance(source, ImageFilesSource) and isinstance(source, Source)
        assert not source.is_live and source.total == 5  # 4 good + the corrupt .jpg; not the .txt or sub/
        frames = list(source)
        assert list(source) and len(messages) == 1  # iterating again reports nothing new
    assert [Path(f.path).name for f in frames] == ["a.jpg", "b.png", "c.PNG", "d.bmp"]
    assert [read_counter(f.image) for f in frames] == [2, 1, 4, 3]
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert all(isinstance(f, Frame) and f.source == str(image_folder) for f in frames)
    assert "bad.jpg" in messages[0]


def test_corrupt_image_warns_by_default(image_folder: Path):
    with pytest.warns(RuntimeWarning, match=r"bad\.jpg") as record:
        frames = list(open_source(image_folder / "*.jpg"))
    assert len(record) == 1 and [Path(f.path).name for f in frames] == ["a.jpg"]


def test_glob_and_single_image(image_folder: Path):
    frames = list(open_source(str(image_folder / "*.png")))
    assert [Path(f.path).name for f in frames] == ["b.png"]  # the glob is case-sensitive, c.PNG excluded
    frames = list(open_source(str(image_folder / "**" / "*.png")))
    assert [Path(f.path).name for f in frames] == ["b.png", "e.png"]
    (frame,) = open_source(str(image_folder / "d.bmp"))
    assert read_counter(frame.image) == 3 and frame.path == str(image_folder / "d.bmp")


def test_grayscale_rgba_and_16_bit_images_come_out_as_3_channel_bgr(tmp_path: Path):
    gray = counter_image(5)[:, :, 0]
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    cv2.imwrite(
        str(tmp_path / "rgba.png"), np.dstack([counter_image(6), np.full((SIDE, SIDE), 128, np.uint8)])
    )
    cv2.imwrite(str(tmp_path / "deep.png"), gray.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "ünïcode.png"), counter_image(8))
    frames = {Path(f.path).stem: f.image for f in open_source(tmp_path)}
    assert set(frames) == {"gray", "rgba", "deep", "ünïcode"}
    for image in frames.values():
        assert image.dtype == np.uint8 and image.shape == (SIDE, SIDE, 3)
    assert [read_counter(frames[k]) for k in ("gray", "rgba", "deep", "ünïcode")] == [5, 6, 5, 8]


def test_bad_specs_fail_clearly(tmp_path: Path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match=r"nope\.jpg"):
        open_source(missing)
    with pytest.raises(FileNotFoundError, match="no images match"):
        open_source(str(tmp_path / "*.jpg"))
    with pytest.raises(ValueError, match="no images"):
        open_source(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="neither an image"):
        open_source(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="unsupported URL scheme"):
        open_source("ftp://example.com/video.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"definitely not a video" * 50)
    with pytest.raises(ValueError, match="cannot open video"):
        open_source(tmp_path / "junk.mp4")
    with pytest.raises(TypeError):
        open_source(1.5)  # type: ignore[arg-type]


# -- video files ------------------------------------------------------------------------------------------
def write_video(path: Path, n: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (SIDE, SIDE))
    assert writer.isOpened()
    for i in range(n):
        writer.write(counter_image(i))
    writer.release()


def test_video_yields_every_frame_in_order_then_stops(tmp_path: Path):
    path = tmp_path / "clip.avi"
    write_video(path, 24)
    messages: list[str] = []
    with open_source(path, on_warning=messages.append) as source:
        assert isinstance(source, VideoFileSource) and not source.is_live and source.total == 24
        frames = list(source)
        assert [read_counter(f.image) for f in frames] == list(range(24))
        assert [f.index for f in frames] == list(range(24)) and frames[0].path == str(path)
        assert len(list(source)) == 24  # iterating again reopens the file
    assert messages == []


def test_truncated_video_stops_cleanly_and_reports_it(tmp_path: Path):
    path = tmp_path / "clip.avi"
    write_video(path, 30)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.8)])
    messages: list[str] = []
    frames = list(open_source(path, on_warning=messages.append))
    assert 0 < len(frames) < 30
    assert [read_counter(f.image) for f in frames] == list(range(len(frames)))
    assert len(messages) == 1 and f"after {len(frames)} of 30 frames" in messages[0]


# -- live MJPEG over HTTP -----------------------------------------------------------------------------------
class MjpegServer:
    """Serves ``multipart/x-mixed-replace`` JPEG frames whose content encodes an increasing counter."""

    def __init__(self, port: int = 0, start: int = 0, fps: float = 20.0):
        self.next = start
        self.fps = fps
        self.paused = False  # keep connections open but send nothing (a stalled camera)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with server._lock:
                    server._conns.add(self.connection)
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    while not server._stop.wait(1 / server.fps):
                        if server.paused:
                            continue
                        with server._lock:
                            n, server.next = server.next, server.next + 1
                        jpg = cv2.imencode(".jpg", counter_image(n))[1].tobytes()
                        head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpg)}\r\n\r\n"
                        self.wfile.write(head.encode() + jpg + b"\r\n")
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/stream.mjpg"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server():
    servers: list[MjpegServer] = []

    def start(**kwargs) -> MjpegServer:
        servers.append(MjpegServer(**kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def pump(source: LiveSource, seconds: float, count: int | None = None) -> list[Frame]:
    """Every frame the source yields within ``seconds`` (or until ``count`` frames came)."""
    frames, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0 and (count is None or len(frames) < count):
        if (frame := source.read(timeout=left)) is not None:
            frames.append(frame)
    return frames


def wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def close_promptly(source: Source) -> None:
    start = time.monotonic()
    source.close()
    assert time.monotonic() - start < 2.0


def assert_fresh(frames: list[Frame]) -> None:
    """No frame twice, no stale or substitute frame: indices and counters strictly increase."""
    indices = [f.index for f in frames]
    counters = [read_counter(f.image) for f in frames]
    assert all(a < b for a, b in itertools.pairwise(indices)), indices
    assert all(a < b for a, b in itertools.pairwise(counters)), counters


def test_live_stream_yields_only_fresh_frames(server):
    srv = server()
    source = open_source(srv.url, stall_timeout=2.0, on_warning=lambda m: None)
    try:
        assert isinstance(source, LiveSource) and source.is_live and source.total is None
        first = source.read(timeout=10)
        assert first is not None and first.path is None and first.source == srv.url
        frames = [first, *pump(source, 1.0)]
        assert len(frames) >= 10
        time.sleep(0.5)  # a slow consumer: frames are overwritten, and it gets the newest one
        late = source.read(timeout=5)
        assert late is not None and late.index > frames[-1].index + 1
        frames.append(late)
        assert_fresh(frames)
        stats = source.stats
        assert stats.frames_read >= len(frames) and stats.frames_dropped >= 1 and stats.reconnects == 0
        assert 5 < stats.fps < 60
    finally:
        close_promptly(source)
    assert source.read(timeout=1) is None and list(source) == []


def test_live_stream_survives_the_server_going_away_and_coming_back(server):
    srv = server()
    messages: list[str] = []
    source = open_source(srv.url, stall_timeout=1.0, max_backoff=0.5, on_warning=messages.append)
    try:
        before = pump(source, 5.0, count=8)
        assert len(before) == 8
        srv.stop()
        last_sent = srv.next - 1
        down = pump(source, 2.0)
        assert all(read_counter(f.image) <= last_sent for f in down)  # only real, late frames of the old one
        assert source.read(timeout=0.5) is None  # nothing substituted while the server is down
        assert wait_for(lambda: len(messages) >= 2, 2.0) and "reconnecting" in messages[0]
        restart = last_sent + 1000
        server(port=srv.port, start=restart)
        after = pump(source, 5.0, count=5)
        assert len(after) == 5 and read_counter(after[0].image) >= restart
        assert_fresh(before + down + after)
        assert source.stats.reconnects >= 2
        srv.stop()
        time.sleep(0.3)
    finally:
        close_promptly(source)  # while the stream is down again


def test_live_stream_stall_is_detected_and_recovers(server):
    srv = server()
    messages: list[str] = []
    source = open_source(srv.url, stall_timeout=0.75, max_backoff=0.5, on_warning=messages.append)
    try:
        before = pump(source, 5.0, count=5)
        assert len(before) == 5
        srv.paused = True
        time.sleep(0.3)  # let in-flight frames arrive
        paused_at = srv.next
        assert pump(source, 1.5) == []  # a stalled stream yields nothing, not a repeated frame
        assert wait_for(lambda: messages, 2.0)
        srv.paused = False
        after = pump(source, 5.0, count=5)
        assert len(after) == 5 and read_counter(after[0].image) >= paused_at
        assert_fresh(before + after)
    finally:
        close_promptly(source)


def test_close_is_prompt_while_a_read_is_blocked(server):
    srv = server()
    source = open_source(srv.url, stall_timeout=10.0, on_warning=lambda m: None)
    assert source.read(timeout=10) is not None
    srv.paused = True  # the reader now sits inside VideoCapture.read for up to 10 s
    time.sleep(0.3)
    close_promptly(source)


def test_unreachable_url_does_not_hang():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    messages: list[str] = []
    source = open_source(f"http://127.0.0.1:{port}/x.mjpg", stall_timeout=0.5, on_warning=messages.append)
    try:
        start = time.monotonic()
        assert source.read(timeout=1.5) is None
        assert time.monotonic() - start < 3.0
        assert wait_for(lambda: len(messages) >= 2, 2.0)
        assert all("reconnecting" in m for m in messages) and source.stats.reconnects >= 2
    finally:
        close_promptly(source)


def test_missing_webcam_reports_and_closes_promptly():
    messages: list[str] = []
    source = open_source("97", stall_timeout=0.5, on_warning=messages.append)
    try:
        assert isinstance(source, LiveSource) and source.source == "97"
        assert source.read(timeout=0.5) is None
        assert wait_for(lambda: messages, 2.0) and "97" in messages[0]
    finally:
        close_promptly(source)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connect_timeout_gives_up_with_a_clear_error():
    from edgeyolo.runtime.sources import SourceConnectError

    url = f"http://127.0.0.1:{closed_port()}/x.mjpg"
    source = open_source(url, stall_timeout=0.5, connect_timeout=1.0, on_warning=lambda m: None)
    try:
        assert source.state == "connecting" and source.error is None
        start = time.monotonic()
        with pytest.raises(SourceConnectError, match=r"no frame within 1 s of opening it"):
            for _ in source:
                pass
        assert 0.9 <= time.monotonic() - start < 3.0
        assert source.state == "failed" and url in source.error
        with pytest.raises(SourceConnectError):
            source.read(timeout=0.1)
    finally:
        close_promptly(source)


def test_connect_timeout_does_not_end_a_stream_that_connected(server):
    srv = server()
    source = open_source(srv.url, stall_timeout=0.5, connect_timeout=1.0, on_warning=lambda m: None)
    try:
        assert source.read(timeout=5) is not None and source.state == "streaming"
        srv.paused = True  # a stream that once worked is retried forever, past the connect timeout
        assert wait_for(lambda: source.state == "reconnecting", 3.0)
        time.sleep(1.2)
        assert source.state == "reconnecting"
        srv.paused = False
        assert source.read(timeout=5) is not None
    finally:
        close_promptly(source)
    assert source.state == "closed"


def test_connect_timeout_must_be_positive():
    with pytest.raises(ValueError, match="connect_timeout must be > 0"):
        open_source("rtsp://127.0.0.1:1/x", connect_timeout=0)
