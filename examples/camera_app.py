"""A camera app that embeds only `edgeyolo.runtime` (plus OpenCV, numpy and the standard library).

    python examples/camera_app.py --model yolo.onnx --source 0
    python examples/camera_app.py --model yolo.onnx --source rtsp://camera/stream --conf 0.4
    python examples/camera_app.py --model yolo.onnx --source 0 --track --line 0,360,1280,360

Frames come from a capture thread (`open_source` keeps only the newest one, so detection never lags
behind the camera), go through `Detector` (and, with --track, a `Tracker` and a `LineCounter`), and are
drawn with `draw_detections` (identities, trails and the line's counts when tracking) plus an FPS overlay.
With a GUI build of OpenCV the result is shown in a window (q or Esc quits); with opencv-python-headless it is
served as MJPEG on http://127.0.0.1:PORT/ for a browser.
"""

from __future__ import annotations

import argparse
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from edgeyolo.runtime import (
    Detector,
    LineCounter,
    Tracker,
    Trails,
    draw_detections,
    draw_line_counter,
    open_source,
)

WINDOW = "edgeyolo"
BOUNDARY = "frame"


def mjpeg_chunk(image: np.ndarray, quality: int = 80) -> bytes:
    """One part of a ``multipart/x-mixed-replace; boundary=frame`` stream: ``image`` as a JPEG."""
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode an image of shape {image.shape} as JPEG")
    data = jpeg.tobytes()
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data + b"\r\n"


class MjpegServer:
    """Serves the latest published frame to every browser on http://127.0.0.1:PORT/ (port 0: any free one)."""

    def __init__(self, port: int):
        self._cond = threading.Condition()
        self._chunk, self._seq, self._closed = b"", 0, False
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/stream.mjpg":
                    page = b'<html><body style="margin:0"><img src="/stream.mjpg"></body></html>'
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                seen = 0  # nothing published yet
                while (chunk := app._next(seen)) is not None:
                    seen, data = chunk
                    try:
                        self.wfile.write(data)
                    except OSError:  # the browser went away
                        return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def _next(self, seen: int) -> tuple[int, bytes] | None:
        with self._cond:
            while not self._closed and self._seq == seen:
                self._cond.wait(1.0)
            return None if self._closed else (self._seq, self._chunk)

    def publish(self, image: np.ndarray) -> None:
        """Hand a new annotated frame to every connected browser."""
        chunk = mjpeg_chunk(image)
        with self._cond:
            self._chunk, self._seq = chunk, self._seq + 1
            self._cond.notify_all()

    def close(self) -> None:
        """Stop serving."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()


def draw_overlay(image: np.ndarray, text: str) -> None:
    """Write ``text`` in the top-left corner, sized to the frame, green on a dark outline."""
    scale = max(0.35, image.shape[1] / 900)
    org = (8, 8 + round(22 * scale))
    for color, thickness in (((0, 0, 0), 4), ((0, 255, 0), 2)):
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)


def has_gui() -> bool:
    """True when this OpenCV build can open windows (opencv-python-headless cannot)."""
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    except cv2.error:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the camera app until the source ends, q/Esc is pressed or Ctrl+C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help="exported model: .onnx, OpenVINO .xml, TensorRT .engine"
    )
    parser.add_argument("--source", default="0", help="webcam index, stream URL, video, image folder or glob")
    parser.add_argument("--conf", type=float, default=0.25, help="confidence threshold")
    parser.add_argument("--port", type=int, default=8080, help="MJPEG port when OpenCV has no GUI")
    parser.add_argument("--track", action="store_true", help="follow objects: an identity and a trail each")
    parser.add_argument("--line", help="with --track: count crossings of the line x1,y1,x2,y2")
    args = parser.parse_args(argv)
    if args.line and not args.track:
        parser.error("--line counts tracked objects: add --track")
    tracker, trails = (Tracker(), Trails()) if args.track else (None, None)
    line = None
    if args.line:
        x1, y1, x2, y2 = (float(v) for v in args.line.split(","))
        line = LineCounter((x1, y1), (x2, y2))

    gui = has_gui()
    server = None if gui else MjpegServer(args.port)
    if server is not None:
        print(f"OpenCV has no GUI here; watch the stream at {server.url}", flush=True)
    fps, last = 0.0, time.monotonic()
    try:
        with Detector(args.model, conf=args.conf) as detector, open_source(args.source) as source:
            for frame in source:
                detections = detector.detect(frame.image)
                if tracker is not None:
                    detections = tracker.update(detections)
                    trails.update(detections)
                    if line is not None:
                        line.update(detections)
                shown = draw_detections(frame.image, detections)
                if trails is not None:
                    trails.draw(shown, copy=False)
                if line is not None:
                    draw_line_counter(shown, line, copy=False)
                now = time.monotonic()
                rate = 1.0 / max(now - last, 1e-6)
                fps, last = (0.9 * fps + 0.1 * rate if fps else rate), now
                draw_overlay(shown, f"{fps:.1f} FPS  {len(detections)} objects")
                if server is not None:
                    server.publish(shown)
                    continue
                cv2.imshow(WINDOW, shown)
                if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                    break
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.close()
        if gui:
            cv2.destroyAllWindows()
    if line is not None:
        print(f"line: in {line.in_count}, out {line.out_count}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
