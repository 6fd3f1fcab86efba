"""A real tritonserver (the nvidia-pytriton wheel's build) on 127.0.0.1, serving the shipped model."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from edgeyolo.data.synth import synth_image
from edgeyolo.defaults import shipped_onnx
from edgeyolo.serve.server import free_ports


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def require_triton() -> None:
    """Skip (saying why) where the tritonserver binary or the stub's libpython is missing."""
    from edgeyolo.serve.server import ServeError, python_stub, triton_dist

    try:
        python_stub(triton_dist()[0])
    except ServeError as exc:
        pytest.skip(f"no Triton server here: {exc}")


def encoded_images(n: int, seed: int = 0) -> list[bytes]:
    """Synthetic shape images of varied sizes, alternately PNG and JPEG."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = synth_image(256, rng).image
        h, w = int(rng.integers(120, 257)), int(rng.integers(120, 257))
        img = np.ascontiguousarray(img[:h, :w])
        ok, enc = cv2.imencode(".png" if i % 2 == 0 else ".jpg", img)
        assert ok
        out.append(enc.tobytes())
    return out


SERVED_MAX_PIXELS = 1_000_000  # small, so an over-limit raw frame is cheap to send


def raw_frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """Synthetic uint8 BGR shape frames [H, W, 3] of varied sizes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = synth_image(256, rng).image
        h, w = int(rng.integers(96, 257)), int(rng.integers(96, 257))
        out.append(np.ascontiguousarray(img[:h, :w]))
    return out


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """A server on the ensembles the public export API writes for the shipped ONNX (python model step);
    shared by the tests of this folder and ended by PID."""
    require_triton()
    from edgeyolo.export import ExportRequest, export
    from edgeyolo.serve.server import TritonServer

    repo = tmp_path_factory.mktemp("triton") / "models"
    request = ExportRequest(
        format="triton", ensemble="python", repo=repo, max_batch=8, max_image_pixels=SERVED_MAX_PIXELS
    )
    export(shipped_onnx(), request)
    http, grpc, metrics = free_ports(3)
    server = TritonServer(repo, http_port=http, grpc_port=grpc, metrics_port=metrics)
    try:
        server.start(timeout_s=120, models=("edgeyolo", "edgeyolo_frames"))
        pid = server.pid
        yield server
    finally:
        server.close()
    assert not pid_alive(pid), f"tritonserver {pid} outlived its fixture"


def assert_clients_match(client_job, want: dict, clients: int = 8, per_client: int = 4) -> None:
    """Run `client_job(k)` for `clients` clients at once; every (key, detections) it returns must equal
    `want[key]` exactly."""
    with ThreadPoolExecutor(clients) as pool:
        results = [r for job in pool.map(client_job, range(clients)) for r in job]
    assert len(results) == clients * per_client
    for key, dets in results:
        np.testing.assert_array_equal(dets, want[key], err_msg=f"request {key[0]} conf {key[1]}")
