"""`Detector` end to end on real exported models (onnxruntime, OpenVINO, and the torch reference)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgeyolo.runtime import Contract, ContractError, Detections, Detector, letterbox, nms
from edgeyolo.runtime.backends import Backend, BackendError
from edgeyolo.runtime.decode import decode_decoded

torch = pytest.importorskip("torch")
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx  # noqa: E402
from edgeyolo.models.checkpoint import save_checkpoint  # noqa: E402
from edgeyolo.models.fuse import randomize_batchnorm  # noqa: E402
from edgeyolo.models.yolo import create_model  # noqa: E402

IMGSZ = (128, 160)  # non-square model input
CONF, IOU = 0.3, 0.45


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5-mobilenetv2", nc=3), seed=3).eval()
    with torch.no_grad():  # a random model that does see objects
        for conv in model.head.m:
            conv.bias.view(model.head.na, -1)[:, 4] += 4.0
            conv.bias.view(model.head.na, -1)[:, 5:] += 2.5
    model.names = ["cat", "dog", "bird"]
    paths = {"pt": save_checkpoint(root / "m.pt", model, imgsz=160)}
    variants = {
        "raw": dict(outputs="raw"),
        "decoded": dict(outputs="decoded", dynamic_batch=True),
        "nms": dict(outputs="nms", conf=0.2, iou=IOU, dynamic_batch=True),
        "raw-uint8": dict(outputs="raw", uint8_input=True),
        "raw-batch2": dict(outputs="raw", batch=2),
    }
    for name, opts in variants.items():
        paths[name] = root / f"{name}.onnx"
        export_onnx(model, paths[name], OnnxExportOptions(imgsz=IMGSZ, report_unfused=False, **opts))
    paths["model"] = model
    return paths


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    rng = np.random.default_rng(1)
    img = np.full((200, 333, 3), 90, np.uint8)  # non-square, different aspect from the model
    img[40:160, 60:250] = rng.integers(0, 255, (120, 190, 3), dtype=np.uint8)
    return img


def torch_reference(model, image: np.ndarray) -> Detections:
    """The torch model's boxes through the same letterbox, decode, NMS and scaling."""
    padded, info = letterbox(image, IMGSZ)
    x = torch.from_numpy(padded[..., ::-1].transpose(2, 0, 1).copy()).float()[None] / 255
    model.head.mode = "decoded"
    with torch.no_grad():
        pred = model(x).numpy()
    c = decode_decoded(pred, CONF)[0]
    keep = nms(c.xyxy, c.score, c.class_id, IOU, 300)
    return Detections(info.to_original(c.xyxy[keep]), c.score[keep], c.class_id[keep], ("cat", "dog", "bird"))


def assert_same(a: Detections, b: Detections, px: float = 0.5) -> None:
    assert len(a) == len(b) > 0
    oa, ob = np.lexsort((a.xyxy[:, 0], -a.confidence)), np.lexsort((b.xyxy[:, 0], -b.confidence))
    np.testing.assert_array_equal(a.class_id[oa], b.class_id[ob])
    assert np.abs(a.xyxy[oa] - b.xyxy[ob]).max() <= px
    assert np.abs(a.confidence[oa] - b.confidence[ob]).max() <= 1e-3


@pytest.mark.parametrize(
    ("variant", "backend"),
    [
        ("raw", "onnxruntime"),
        ("raw", "openvino"),
        ("decoded", "onnxruntime"),
        ("nms", "onnxruntime"),
        ("nms", "openvino"),
        ("raw-uint8", "onnxruntime"),
        ("raw-uint8", "openvino"),
        ("pt", "torch"),
    ],
)
def test_boxes_equal_the_torch_model(models, frame, variant: str, backend: str) -> None:
    reference = torch_reference(models["model"], frame)
    with Detector(models[variant], backend=backend, conf=CONF, iou=IOU) as det:
        if backend == "torch":
            det.contract = det.backend.contract = Contract(**{**det.contract.__dict__, "imgsz": IMGSZ})
        got = det.detect(frame)
    assert got.names == ("cat", "dog", "bird")
    assert_same(got, reference)
    h, w = frame.shape[:2]
    assert got.xyxy.min() >= 0 and got.xyxy[:, [0, 2]].max() <= w and got.xyxy[:, [1, 3]].max() <= h


def test_openvino_runs_the_precision_asked(models) -> None:
    with Detector(models["raw"], backend="openvino") as det:
        assert (
            "f32" in det.backend.details["inference_precision"].lower()
            or "float32" in det.backend.details["inference_precision"]
        )


@pytest.mark.parametrize(
    ("spinning", "mode", "entries"),
    [
        (None, "run", {"session.force_spinning_stop": "1"}),  # the default
        ("always", "always", {}),
        (True, "always", {}),
        (False, "never", {"session.intra_op.allow_spinning": "0"}),
    ],
)
def test_onnxruntime_thread_spinning(models, frame, spinning, mode: str, entries: dict) -> None:
    options = {} if spinning is None else {"spinning": spinning}
    with Detector(models["raw"], backend="onnxruntime", conf=CONF, **options) as det:
        assert det.backend.details["spinning"] == mode
        session_options = det.backend.session.get_session_options()
        for key, value in entries.items():
            assert session_options.get_session_config_entry(key) == value
        got = det.detect(frame)
    with Detector(models["raw"], backend="openvino", conf=CONF) as reference:
        np.testing.assert_allclose(got.xyxy, reference.detect(frame).xyxy, atol=1e-2)


def test_onnxruntime_refuses_an_unknown_spinning_mode(models) -> None:
    with pytest.raises(BackendError, match="spinning must be one of run, always, never"):
        Detector(models["raw"], backend="onnxruntime", spinning="sometimes")


def run_in_threads(det: Detector, frames: list[np.ndarray], n_threads: int = 8) -> dict[int, Detections]:
    results: dict[int, Detections] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(i, len(frames), n_threads):
                results[j] = det.detect(frames[j])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_eight_threads_match_serial(models, frame, backend: str) -> None:
    rng = np.random.default_rng(5)
    frames = [
        np.clip(frame.astype(int) + rng.integers(-40, 40, frame.shape), 0, 255).astype(np.uint8)
        for _ in range(16)
    ]
    with Detector(models["raw"], backend=backend, conf=CONF) as det:
        serial = [det.detect(f) for f in frames]
        results = run_in_threads(det, frames)
    for j, expected in enumerate(serial):
        np.testing.assert_array_equal(results[j].xyxy, expected.xyxy)
        np.testing.assert_array_equal(results[j].class_id, expected.class_id)


@pytest.mark.parametrize("variant", ["decoded", "raw-batch2", "raw"])
def test_detect_batch_equals_single_frames(models, frame, variant: str) -> None:
    frames = [frame, frame[:150, :300].copy(), np.ascontiguousarray(frame[::-1])]
    with Detector(models[variant], conf=CONF) as det:
        batch = det.detect_batch(frames)
        single = [det.detect(f) for f in frames]
    assert len(batch) == 3
    for a, b in zip(batch, single, strict=True):
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)


def test_bad_frames(models, frame) -> None:
    with Detector(models["raw"], conf=CONF) as det:
        for bad, message in [
            (None, "got None"),
            (np.zeros((0, 10, 3), np.uint8), "non-empty"),
            (frame.astype(np.float32), "only uint8"),
            (np.zeros((10, 10, 5), np.uint8), "channels"),
        ]:
            with pytest.raises((TypeError, ValueError), match=message):
                det.detect(bad)
        gray = det.detect(frame[..., 1])  # documented conversion: grayscale → 3 channels
        bgra = det.detect(np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)]))
        assert isinstance(gray, Detections) and isinstance(bgra, Detections)
        assert_same(bgra, det.detect(frame), px=1e-3)
        flipped = frame[:, ::-1]  # non-contiguous view
        assert_same(det.detect(flipped), det.detect(np.ascontiguousarray(flipped)), px=1e-3)


def test_classes_and_max_det(models, frame) -> None:
    with Detector(models["raw"], conf=CONF) as full:
        everything = full.detect(frame)
    with Detector(models["raw"], conf=CONF, classes=[1], max_det=3) as det:
        some = det.detect(frame)
    assert set(some.class_id.tolist()) <= {1} and len(some) <= 3
    assert len(some) == min(3, int((everything.class_id == 1).sum()))
    with pytest.raises(ValueError, match="classes must be ids"):
        Detector(models["raw"], classes=[7])


class NaNInjecting(Backend):
    """A real onnxruntime backend whose outputs get NaN/inf written into a few cells."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner.path)
        self.inner, self.contract, self.input_dtype = inner, inner.contract, inner.input_dtype

    def infer(self, inputs):
        out = [o.copy() for o in self.inner.infer(inputs)]
        out[0][0, :, 0, 0] = np.nan
        out[0][0, 4, 1, 1] = np.inf
        return out


def test_non_finite_outputs_are_dropped_and_counted(models, frame) -> None:
    from edgeyolo.runtime.backends import load_backend

    det = Detector(NaNInjecting(load_backend(models["raw"])), conf=CONF)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        got = det.detect(frame)
    assert np.isfinite(got.xyxy).all() and det.dropped_nonfinite >= 1


def test_model_without_metadata_is_refused(tmp_path: Path) -> None:
    node = onnx.helper.make_node("Identity", ["images"], ["out"])
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [onnx.helper.make_tensor_value_info("images", 1, [1, 3, 32, 32])],
        [onnx.helper.make_tensor_value_info("out", 1, [1, 3, 32, 32])],
    )
    path = tmp_path / "plain.onnx"
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    with pytest.raises(ContractError, match="edgeyolo export"):
        Detector(path)
    with pytest.raises(FileNotFoundError):
        Detector(tmp_path / "missing.onnx")


def test_closed_detector_refuses(models, frame) -> None:
    det = Detector(models["raw"])
    det.close()
    with pytest.raises(RuntimeError, match="closed"):
        det.detect(frame)
