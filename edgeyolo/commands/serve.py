"""`edgeyolo serve`: serve an exported model behind a real Triton Inference Server on this machine.

Packages the model through the public export API (`edgeyolo.export.export` with `--format triton
--ensemble python`: the model step is the Python backend running the file with `edgeyolo.runtime`,
because the CPU Triton build in the nvidia-pytriton wheel has no ONNX Runtime / OpenVINO backend) into a
repository, starts the wheel's `tritonserver` on it and stops it on Ctrl-C or SIGTERM. The served models
are `<name>` (encoded JPEG/PNG in) and `<name>_frames` (raw uint8 BGR frames in).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from edgeyolo.errors import EdgeYoloError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a model behind a Triton Inference Server (HTTP, gRPC, metrics)")
    p.add_argument(
        "--model",
        help="exported model (.onnx, OpenVINO IR), or a .pt checkpoint (exported to ONNX first); "
        "default: the shipped ONNX",
    )
    p.add_argument("--name", default="edgeyolo", help="served model name (default: edgeyolo)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--http-port", type=int, default=8000)
    p.add_argument("--grpc-port", type=int, default=8001)
    p.add_argument("--metrics-port", type=int, default=8002)
    p.add_argument("--repo", help="write the model repository here and keep it (default: a temporary folder)")
    p.add_argument("--max-batch", type=int, default=8, help="Triton max_batch_size of every step")
    p.add_argument("--instances", type=int, default=1, help="instances of each step")
    p.add_argument("--no-dynamic-batching", action="store_true", help="serve requests one by one")
    p.add_argument("--max-queue-delay-us", type=int, default=100, help="dynamic batcher's queue delay")
    p.add_argument("--max-image-pixels", type=int, default=40_000_000, help="refuse larger images (header)")
    p.add_argument("--conf", type=float, default=0.25, help="default confidence (request parameter: conf)")
    p.add_argument("--iou", type=float, default=0.45, help="default NMS IoU threshold (per request: iou)")
    p.add_argument("--max-det", type=int, default=300)
    p.add_argument("--start-timeout", type=float, default=120.0, help="seconds to wait for readiness")
    p.add_argument("--overwrite", action="store_true", help="replace the models in an existing --repo")


def _check_port(flag: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise EdgeYoloError(f"{flag} must be a TCP port in [1, 65535], got {port}")


def run(args: argparse.Namespace) -> int:
    from edgeyolo.defaults import shipped_onnx
    from edgeyolo.export import ExportRequest, export
    from edgeyolo.serve.server import TritonServer

    ports = {"--http-port": args.http_port, "--grpc-port": args.grpc_port}
    ports["--metrics-port"] = args.metrics_port
    for flag, port in ports.items():
        _check_port(flag, port)
    if len(set(ports.values())) != 3:
        raise EdgeYoloError("--http-port, --grpc-port and --metrics-port must differ")
    model = Path(args.model) if args.model else shipped_onnx()
    if not model.exists():
        raise EdgeYoloError(f"model {model} does not exist")
    with tempfile.TemporaryDirectory(prefix="edgeyolo-serve-") as tmp:
        repo = Path(args.repo) if args.repo else Path(tmp) / "models"
        request = ExportRequest(
            format="triton",
            ensemble="python",
            repo=repo,
            name=args.name,
            max_batch=args.max_batch,
            instances=args.instances,
            dynamic_batching=not args.no_dynamic_batching,
            max_queue_delay_us=args.max_queue_delay_us,
            max_image_pixels=args.max_image_pixels,
            conf=args.conf,
            iou=args.iou,
            max_det=args.max_det,
            # the model step shares the CPU with the pre/post-processing stubs: idle ORT threads sleep
            runtime_options={"spinning": False} if model.suffix.lower() in (".onnx", ".pt") else None,
            overwrite=args.overwrite,
        )
        export(model, request, log=lambda message: print(message, file=sys.stderr, flush=True))
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        server = TritonServer(
            repo,
            host=args.host,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            metrics_port=args.metrics_port,
        )
        try:
            server.start(args.start_timeout, models=(args.name,))
            print(
                f"serving {model} as '{args.name}' (encoded images) and '{args.name}_frames' (raw frames) "
                f"(Triton pid {server.pid}): HTTP {server.http_url}, "
                f"gRPC {server.grpc_url}, metrics http://{server.client_host}:{args.metrics_port}/metrics; "
                "Ctrl-C to stop",
                flush=True,
            )
            while not stop.wait(0.5):
                if not server.alive():
                    print(
                        f"edgeyolo serve: error: tritonserver exited unexpectedly:\n{server.log_tail()}",
                        file=sys.stderr,
                    )
                    return 1
            print("edgeyolo serve: stopping", file=sys.stderr)
        except KeyboardInterrupt:
            print("edgeyolo serve: stopping", file=sys.stderr)
        finally:
            server.close()
            signal.signal(signal.SIGTERM, previous)
    return 0
