"""Raw uint8 BGR frames in (`edgeyolo_frames`): a real Triton server gives Detector's detections over HTTP
and gRPC, refuses malformed frames with a clear error and keeps serving."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeyolo.defaults import shipped_onnx
from edgeyolo.runtime import Detector
from tests.serve.conftest import SERVED_MAX_PIXELS, assert_clients_match, raw_frames

tritonclient = pytest.importorskip("tritonclient")
import tritonclient.grpc as grpcclient  # noqa: E402
import tritonclient.http as httpclient  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

MODEL = "edgeyolo_frames"
CLIENT_ERROR = ("400", "StatusCode.INVALID_ARGUMENT")


def client_for(served, module):
    return module.InferenceServerClient(served.http_url if module is httpclient else served.grpc_url)


def frame_input(module, batch: np.ndarray, dtype: str = "UINT8"):
    inp = module.InferInput("FRAME", list(batch.shape), dtype)
    inp.set_data_from_numpy(batch)
    return inp


def infer_frames(client, module, frames: list[np.ndarray], **params) -> list[np.ndarray]:
    """One request holding `frames` (all of one size); the detections of each frame."""
    result = client.infer(MODEL, [frame_input(module, np.stack(frames))], parameters=params or None)
    dets, num = result.as_numpy("DETECTIONS"), result.as_numpy("NUM_DETECTIONS")
    assert num.shape == (len(frames), 1)
    for i in range(len(frames)):
        assert not dets[i, int(num[i, 0]) :].any()  # padding is zeros
    return [dets[i, : int(num[i, 0])] for i in range(len(frames))]


def expected(detector: Detector, frame: np.ndarray) -> np.ndarray:
    d = detector.detect(frame)
    return np.concatenate([d.xyxy, d.confidence[:, None], d.class_id[:, None].astype(np.float32)], 1)


def test_concurrent_http_and_grpc_clients_get_the_in_process_detections(served):
    frames = raw_frames(12, seed=5)
    reference = {0.25: Detector(shipped_onnx()), 0.1: Detector(shipped_onnx(), conf=0.1)}
    want = {(i, c): expected(d, f) for c, d in reference.items() for i, f in enumerate(frames)}
    assert sum(len(w) for w in want.values()) > 0, "the frames should show some detections"

    def client_job(k: int):
        module = httpclient if k % 2 == 0 else grpcclient
        client = client_for(served, module)
        got = []
        for i in range(k % 3, len(frames), 3):
            conf = 0.1 if (i + k) % 2 else 0.25
            params = {"conf": conf} if conf != 0.25 else {}
            got.append(((i, conf), infer_frames(client, module, [frames[i]], **params)[0]))
        return got

    assert_clients_match(client_job, want)


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_a_request_may_carry_several_frames_of_one_size(served, module):
    base = raw_frames(1, seed=6)[0]
    frames = [base, np.ascontiguousarray(base[::-1]), np.ascontiguousarray(base[:, ::-1])]
    detector = Detector(shipped_onnx())
    got = infer_frames(client_for(served, module), module, frames)
    for i, frame in enumerate(frames):
        np.testing.assert_array_equal(got[i], expected(detector, frame), err_msg=f"frame {i}")


@pytest.mark.parametrize("shape", [(1, 3000, 3), (2500, 2, 3)], ids=["1x3000", "2500x2"])
def test_extreme_aspect_ratios_are_served_like_in_process(served, shape):
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, shape, dtype=np.uint8)
    got = infer_frames(client_for(served, grpcclient), grpcclient, [frame])[0]
    np.testing.assert_array_equal(got, expected(Detector(shipped_onnx()), frame))


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_bad_frames_get_clear_errors_and_the_server_keeps_serving(served, module):
    client = client_for(served, module)

    def refused(batch: np.ndarray, match: str, dtype: str = "UINT8", **params):
        with pytest.raises(InferenceServerException, match=match) as refusal:
            client.infer(MODEL, [frame_input(module, batch, dtype)], parameters=params or None)
        assert str(refusal.value.status()) in CLIENT_ERROR, (
            refusal.value
        )  # the client's fault, not the server's

    shape_error = r"(?i)unexpected shape|shape.*expected|dims"
    refused(np.zeros((1, 32, 32, 4), np.uint8), shape_error)  # HxWx4 (BGRA)
    refused(np.zeros((1, 32, 32), np.uint8), shape_error)  # 2-D frames
    refused(np.zeros((1, 32, 32, 1), np.uint8), shape_error)  # one channel
    refused(np.zeros((1, 2, 32, 32, 3), np.uint8), shape_error)  # one rank too many
    refused(np.zeros((1, 32, 32, 3), np.float32), r"(?i)data-?type|dtype|FP32", dtype="FP32")
    refused(np.zeros((1, 0, 32, 3), np.uint8), r"FRAME is empty \(0x32 pixels\)")
    refused(np.zeros((1, 0, 0, 3), np.uint8), r"FRAME is empty")
    refused(np.zeros((1, 32, 32, 3), np.uint8), "conf must be a number", conf=-1)
    side = int(SERVED_MAX_PIXELS**0.5) + 1
    over = (
        rf"FRAME is {side}x{side} = {side * side:,} pixels, over this server's limit of {SERVED_MAX_PIXELS:,}"
    )
    refused(np.zeros((1, side, side, 3), np.uint8), over)
    refused(np.zeros((9, 8, 8, 3), np.uint8), r"(?i)batch.?size|max.?batch|exceeds")  # max_batch is 8
    with pytest.raises(InferenceServerException, match=r"(?i)unexpected inference input|IMAGE|FRAME"):
        image = module.InferInput("IMAGE", [1, 16], "UINT8")  # the encoded-image input, wrong model
        image.set_data_from_numpy(np.zeros((1, 16), np.uint8))
        client.infer(MODEL, [image])

    frame = raw_frames(1, seed=8)[0]
    np.testing.assert_array_equal(
        infer_frames(client, module, [frame])[0], expected(Detector(shipped_onnx()), frame)
    )
    assert served.alive()


def test_frames_model_config_names_the_contract(served):
    config = httpclient.InferenceServerClient(served.http_url).get_model_config(MODEL)
    assert json.loads(config["parameters"]["names"]["string_value"]) == list(Detector(shipped_onnx()).names)
    assert [(t["name"], t["data_type"], t["dims"]) for t in config["input"]] == [
        ("FRAME", "TYPE_UINT8", [-1, -1, 3])
    ]
    assert [o["name"] for o in config["output"]] == ["DETECTIONS", "NUM_DETECTIONS"]
