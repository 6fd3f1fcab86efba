"""Serving load test: a real Triton server (edgeyolo serve's ensemble) vs the in-process Detector.

Exports the shipped model with a dynamic batch axis, starts two Triton servers on 127.0.0.1 (every step
with dynamic batching, and without), and measures in rounds, interleaved: in-process `Detector` (decode +
detect, one caller), then each server at 1, 4, 8 and 16 concurrent gRPC clients for a fixed window.
Reports throughput (images/s), p50/p99 latency and failed requests, medians over the rounds, and the ratio
of each server's throughput to in-process throughput. Clients run in this process on the same machine.

    python benchmarks/bench_serve.py [--rounds 6] [--window 2] [--clients 1,4,8,16] [--frames] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import tritonclient.grpc as grpcclient

from edgeyolo.data.synth import synth_image
from edgeyolo.defaults import shipped_weights
from edgeyolo.export import ExportRequest, export
from edgeyolo.runtime import Detector
from edgeyolo.serve.server import TritonServer, free_ports


def make_images(n: int, size: tuple[int, int] = (480, 640)) -> list[bytes]:
    """Synthetic shape scenes as 640x480 JPEGs (quality 90): what a camera sends."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        img = cv2.resize(synth_image(256, rng).image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        out.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return out


def as_frame(image: bytes | np.ndarray) -> np.ndarray:
    """A raw frame as it is; a JPEG decoded (in-process work that the server does for encoded images)."""
    if isinstance(image, np.ndarray):
        return image
    return cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)


def request_input(image: bytes | np.ndarray) -> tuple[str, grpcclient.InferInput]:
    """(model, input) of one request: a JPEG to `edgeyolo`, a raw BGR frame to `edgeyolo_frames`."""
    if isinstance(image, np.ndarray):
        inp = grpcclient.InferInput("FRAME", [1, *image.shape], "UINT8")
        inp.set_data_from_numpy(image[None])
        return "edgeyolo_frames", inp
    data = np.frombuffer(image, np.uint8)[None]
    inp = grpcclient.InferInput("IMAGE", list(data.shape), "UINT8")
    inp.set_data_from_numpy(data)
    return "edgeyolo", inp


def in_process(detector: Detector, images: list, window: float) -> dict:
    """One caller: decode (JPEGs) + detect, back to back, for `window` seconds."""
    lat, i, end = [], 0, time.perf_counter() + window
    while time.perf_counter() < end:
        t = time.perf_counter()
        detector.detect(as_frame(images[i % len(images)]))
        lat.append(time.perf_counter() - t)
        i += 1
    return {"throughput": len(lat) / sum(lat), "p50_ms": _pct(lat, 50), "p99_ms": _pct(lat, 99), "failed": 0}


def served(url: str, images: list, clients: int, window: float) -> dict:
    """`clients` threads, each with its own gRPC client, sending one image per request for `window` s."""
    lat: list[float] = []
    failed = [0]
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(k: int) -> None:
        client = grpcclient.InferenceServerClient(url)
        mine, bad, i = [], 0, k
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            model, inp = request_input(images[i % len(images)])
            t = time.perf_counter()
            try:
                client.infer(model, [inp], client_timeout=30.0)
                mine.append(time.perf_counter() - t)
            except Exception:  # counted, reported: a load test must finish to say how many failed
                bad += 1
            i += clients
        client.close()
        with lock:
            lat.extend(mine)
            failed[0] += bad

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    begin = time.perf_counter()
    stop_at[0] = begin + window
    start_gate.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begin
    return {
        "throughput": len(lat) / elapsed,
        "p50_ms": _pct(lat, 50),
        "p99_ms": _pct(lat, 99),
        "failed": failed[0],
    }


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1000) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--window", type=float, default=2.0, help="seconds per measurement")
    parser.add_argument("--clients", default="1,4,8,16")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--queue-delay-us", type=int, default=100, help="dynamic batcher's queue delay")
    parser.add_argument(
        "--spinning", action="store_true", help="let onnxruntime's idle threads spin (both sides)"
    )
    parser.add_argument("--threads", type=int, help="onnxruntime threads of the served model step")
    parser.add_argument("--instances", type=int, default=1, help="instances of each served step")
    parser.add_argument(
        "--frames", action="store_true", help="send raw BGR frames to edgeyolo_frames instead of JPEGs"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    concurrency = [int(c) for c in args.clients.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        onnx = Path(tmp) / "shipped-dynamic.onnx"
        subprocess.run(
            [sys.executable, "-m", "edgeyolo.cli", "export", "--weights", str(shipped_weights()),
             "--imgsz", str(args.imgsz), "--dynamic", "batch", "-o", str(onnx)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        images: list = make_images(32)
        if args.frames:
            images = [as_frame(b) for b in images]
        servers = {}
        for mode, batching in (("dynamic", True), ("no-batching", False)):
            repo = Path(tmp) / mode
            request = ExportRequest(
                format="triton", ensemble="python", repo=repo, dynamic_batching=batching, max_batch=16,
                max_queue_delay_us=args.queue_delay_us, instances=args.instances,
                runtime_options={"spinning": args.spinning, "threads": args.threads},
            )  # fmt: skip
            export(onnx, request)
            http, grpc, metrics = free_ports(3)
            servers[mode] = TritonServer(repo, http_port=http, grpc_port=grpc, metrics_port=metrics)
        detector = Detector(onnx, spinning=args.spinning)  # the same onnxruntime settings as the server
        results: dict[str, list[dict]] = {}
        try:
            for server in servers.values():
                server.start(120, models=("edgeyolo", "edgeyolo_frames"))
            for server in servers.values():  # warm up every instance
                served(server.grpc_url, images, 4, 1.0)
            in_process(detector, images, 1.0)
            for _ in range(args.rounds):
                results.setdefault("in-process", []).append(in_process(detector, images, args.window))
                for c in concurrency:
                    for mode, server in servers.items():
                        results.setdefault(f"{mode}@{c}", []).append(
                            served(server.grpc_url, images, c, args.window)
                        )
        finally:
            for server in servers.values():
                server.close()

    summary = {
        key: {
            m: statistics.median(r[m] for r in runs) if m != "failed" else sum(r[m] for r in runs)
            for m in runs[0]
        }
        for key, runs in results.items()
    }
    base = summary["in-process"]["throughput"]
    for row in summary.values():
        row["vs_in_process"] = row["throughput"] / base
    if args.json:
        head = {"imgsz": args.imgsz, "frames": args.frames, "instances": args.instances}
        print(json.dumps({**head, "rounds": args.rounds, "window_s": args.window, **summary}))
        return
    kind = "raw BGR frame" if args.frames else "JPEG"
    print(
        f"imgsz {args.imgsz}, 640x480 {kind} requests, instances {args.instances}, "
        f"{args.rounds} rounds x {args.window:.0f} s, medians"
    )
    print(f"{'':22s} {'img/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'failed':>7s} {'x in-proc':>9s}")
    for key, row in summary.items():
        print(
            f"{key:22s} {row['throughput']:8.1f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} "
            f"{row['failed']:7d} {row['vs_in_process']:9.2f}"
        )


if __name__ == "__main__":
    main()
