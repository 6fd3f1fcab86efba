"""A real Triton server runs the ensemble: concurrent HTTP and gRPC clients get Detector's detections."""

from __future__ import annotations

import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeyolo.defaults import shipped_onnx
from edgeyolo.runtime import Detector
from tests.serve.conftest import assert_clients_match, encoded_images, free_ports, pid_alive, require_triton

tritonclient = pytest.importorskip("tritonclient")
import tritonclient.grpc as grpcclient  # noqa: E402
import tritonclient.http as httpclient  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402


def infer(client, module, images: list[bytes], **params):
    """One request holding `images` (zero-padded to one length); returns (detections, counts)."""
    width = max(len(b) for b in images)
    batch = np.zeros((len(images), width), np.uint8)
    for i, b in enumerate(images):
        batch[i, : len(b)] = np.frombuffer(b, np.uint8)
    inp = module.InferInput("IMAGE", list(batch.shape), "UINT8")
    inp.set_data_from_numpy(batch)
    result = client.infer("edgeyolo", [inp], parameters=params or None)
    return result.as_numpy("DETECTIONS"), result.as_numpy("NUM_DETECTIONS")


def expected(detector: Detector, data: bytes) -> np.ndarray:
    d = detector.detect(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    return np.concatenate([d.xyxy, d.confidence[:, None], d.class_id[:, None].astype(np.float32)], 1)


def test_concurrent_http_and_grpc_clients_get_the_in_process_detections(served):
    images = encoded_images(12)
    reference = {0.25: Detector(shipped_onnx()), 0.1: Detector(shipped_onnx(), conf=0.1)}
    want = {(i, c): expected(d, b) for c, d in reference.items() for i, b in enumerate(images)}
    assert sum(len(w) for w in want.values()) > 0, "the images should show some detections"

    def client_job(k: int):
        http = k % 2 == 0
        module = httpclient if http else grpcclient
        url = served.http_url if http else served.grpc_url
        client = module.InferenceServerClient(url)
        got = []
        for i in range(k % 3, len(images), 3):
            conf = 0.1 if (i + k) % 2 else 0.25
            params = {"conf": conf} if conf != 0.25 else {}
            dets, num = infer(client, module, [images[i]], **params)
            got.append(((i, conf), dets[0, : int(num[0, 0])]))
        return got

    assert_clients_match(client_job, want)


def test_a_request_may_carry_several_images(served):
    images = encoded_images(3, seed=1)
    detector = Detector(shipped_onnx())
    client = httpclient.InferenceServerClient(served.http_url)
    dets, num = infer(client, httpclient, images)
    assert dets.shape[0] == 3 and num.shape == (3, 1)
    for i, data in enumerate(images):
        np.testing.assert_array_equal(dets[i, : int(num[i, 0])], expected(detector, data))
        assert not dets[i, int(num[i, 0]) :].any()  # padding is zeros


def _black_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height black pixels: a few kB that decode to width*height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"\0" * ((1 + (width + 7) // 8) * height)  # filter byte 0 + packed bits, per row
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(served, module):
    client = module.InferenceServerClient(served.http_url if module is httpclient else served.grpc_url)
    good = encoded_images(1, seed=2)[0]

    def refused(inputs, match, **params):
        with pytest.raises(InferenceServerException, match=match) as refusal:
            client.infer("edgeyolo", inputs, parameters=params or None)
        assert str(refusal.value.status()) in ("400", "StatusCode.INVALID_ARGUMENT"), refusal.value

    def raw(array: np.ndarray, dtype: str = "UINT8"):
        inp = module.InferInput("IMAGE", list(array.shape), dtype)
        inp.set_data_from_numpy(array)
        return [inp]

    refused(raw(np.frombuffer(b"this is not an image at all", np.uint8)[None]), "not a readable JPEG or PNG")
    refused(raw(np.zeros((1, 0), np.uint8)), "empty")
    refused(raw(np.frombuffer(_black_png(10_000, 10_000), np.uint8)[None]), "100.0 megapixels, over")
    refused(raw(np.zeros((1, 16), np.float32), "FP32"), "(?i)data-?type|dtype|FP32")
    refused(raw(np.zeros((1, 2, 8), np.uint8)), "(?i)shape|dims")
    truncated = good[: len(good) // 3]
    refused(raw(np.frombuffer(truncated, np.uint8)[None]), "(?i)JPEG or PNG")
    jpeg = encoded_images(2, seed=2)[1]
    refused(raw(np.frombuffer(jpeg[: len(jpeg) // 2], np.uint8)[None]), "truncated JPEG")
    refused(raw(np.frombuffer(good, np.uint8)[None]), "conf must be a number", conf=2.0)
    refused(raw(np.frombuffer(good, np.uint8)[None]), "iou must be a number", iou="high")

    dets, num = infer(client, module, [good])
    np.testing.assert_array_equal(dets[0, : int(num[0, 0])], expected(Detector(shipped_onnx()), good))
    assert served.alive()


def test_model_config_names_the_contract(served):
    client = httpclient.InferenceServerClient(served.http_url)
    config = client.get_model_config("edgeyolo")
    params = config["parameters"]
    import json

    assert json.loads(params["names"]["string_value"]) == list(Detector(shipped_onnx()).names)
    assert config["input"][0]["name"] == "IMAGE"
    assert [o["name"] for o in config["output"]] == ["DETECTIONS", "NUM_DETECTIONS"]


def test_killed_server_fails_clients_fast_and_a_restart_serves_again(tmp_path):
    require_triton()
    from edgeyolo.export.triton_ensemble import write_triton_ensemble
    from edgeyolo.serve.server import TritonServer

    repo = tmp_path / "models"
    write_triton_ensemble(shipped_onnx(), repo, model_step="python")
    http, grpc, metrics = free_ports(3)
    image = encoded_images(1, seed=3)[0]
    want = expected(Detector(shipped_onnx()), image)
    pids = []
    with TritonServer(repo, http_port=http, grpc_port=grpc, metrics_port=metrics) as server:
        server.start(120, models=("edgeyolo",))
        pids.append(server.pid)
        client = httpclient.InferenceServerClient(
            server.http_url, connection_timeout=5.0, network_timeout=5.0
        )
        dets, num = infer(client, httpclient, [image])
        np.testing.assert_array_equal(dets[0, : int(num[0, 0])], want)

        errors = []

        def load():
            c = grpcclient.InferenceServerClient(server.grpc_url)
            for _ in range(200):
                start = time.monotonic()
                try:
                    inp = grpcclient.InferInput("IMAGE", [1, len(image)], "UINT8")
                    inp.set_data_from_numpy(np.frombuffer(image, np.uint8)[None])
                    c.infer("edgeyolo", [inp], client_timeout=5.0)
                except InferenceServerException:
                    errors.append(time.monotonic() - start)
                    return

        with ThreadPoolExecutor(4) as pool:
            jobs = [pool.submit(load) for _ in range(4)]
            time.sleep(1.0)
            import os
            import signal

            os.kill(server.pid, signal.SIGKILL)
            for j in jobs:
                j.result(timeout=30)
        assert len(errors) == 4 and max(errors) < 6.0, errors
        server.stop()  # reaps it and ends the stubs it left

        server.start(120, models=("edgeyolo",))
        pids.append(server.pid)
        dets, num = infer(client, httpclient, [image])
        np.testing.assert_array_equal(dets[0, : int(num[0, 0])], want)
    for pid in pids:
        assert not pid_alive(pid)
    assert not list(Path("/dev/shm").glob(f"{server.shm_prefix}*")), "shared memory left behind"


def test_dynamic_batches_from_concurrent_clients_split_back_per_request(tmp_path):
    """A dynamic-batch model: the batcher merges requests into one onnxruntime call and splits results."""
    require_triton()
    torch = pytest.importorskip("torch")
    from edgeyolo.defaults import shipped_weights
    from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
    from edgeyolo.export.triton_ensemble import write_triton_ensemble
    from edgeyolo.models.checkpoint import load_model
    from edgeyolo.serve.server import TritonServer

    onnx = tmp_path / "dynamic.onnx"
    model = load_model(shipped_weights()).eval()
    with torch.no_grad():
        export_onnx(model, onnx, OnnxExportOptions(imgsz=(160, 160), dynamic_batch=True, verify=False))
    repo = tmp_path / "models"
    # a long queue delay so concurrent requests reliably meet in one batch
    write_triton_ensemble(onnx, repo, model_step="python", max_queue_delay_us=20_000)
    images = encoded_images(16, seed=4)
    detector = Detector(onnx, conf=0.1)
    want = [expected(detector, b) for b in images]
    assert sum(len(w) for w in want) > 0
    http, grpc, metrics = free_ports(3)
    with TritonServer(repo, http_port=http, grpc_port=grpc, metrics_port=metrics) as server:
        server.start(120, models=("edgeyolo",))

        def one(i: int):
            client = grpcclient.InferenceServerClient(server.grpc_url)
            return infer(client, grpcclient, [images[i]], conf=0.1)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(len(images))))
        stats = httpclient.InferenceServerClient(server.http_url).get_inference_statistics("edgeyolo_model")
    model_stats = stats["model_stats"][0]
    assert model_stats["execution_count"] < model_stats["inference_count"], "no requests were batched"
    for i, (dets, num) in enumerate(results):
        got = dets[0, : int(num[0, 0])]
        assert got.shape == want[i].shape, f"image {i}"
        np.testing.assert_array_equal(got[:, 5], want[i][:, 5])
        np.testing.assert_allclose(got[:, :5], want[i][:, :5], rtol=0, atol=1e-3, err_msg=f"image {i}")
