"""`edgeyolo.val`: the evaluation loop through the runtime's processing, on every model format."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")
from edgeyolo.data.formats import Sample, load_data_yaml, load_split
from edgeyolo.runtime.backends.base import Backend
from edgeyolo.runtime.contract import Contract
from edgeyolo.runtime.detector import Detector
from edgeyolo.runtime.letterbox import letterbox
from edgeyolo.val import ValError, evaluate, evaluate_model, evaluate_torch_model
from tests.conftest import run_without_torch
from tests.val_helpers import IMAGES, gt_boxes, make_dataset

NAMES = ["ball", "box"]
ANCHORS = ((10.0, 13.0), (30.0, 61.0), (116.0, 90.0))


class EchoGroundTruth(Backend):
    """An `nms`-layout model that 'detects' exactly the ground truth of the images it is fed, in order."""

    name = "echo"

    def __init__(self, imgsz: tuple[int, int] = (64, 64)) -> None:
        super().__init__("<echo>")
        self.contract = Contract(NAMES, (8, 16, 32), ANCHORS, imgsz, outputs="nms", max_det=10)
        self.queue: list[np.ndarray] = []
        for (h, w), boxes in zip([shape for shape, _ in IMAGES], gt_boxes(), strict=True):
            _, info = letterbox(np.zeros((h, w, 3), np.uint8), imgsz, stride=32)
            rows = np.zeros((len(boxes), 6), np.float32)
            rows[:, :4] = info.to_letterbox(boxes[:, 1:])
            rows[:, 4] = np.linspace(0.9, 0.6, len(boxes))
            rows[:, 5] = boxes[:, 0]
            self.queue.append(rows)

    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        dets = np.zeros((len(inputs), self.contract.max_det, 6), np.float32)
        num = np.zeros(len(inputs), np.int32)
        for b in range(len(inputs)):
            rows = self.queue.pop(0)
            dets[b, : len(rows)], num[b] = rows, len(rows)
        return [dets, num]


@pytest.fixture(scope="module")
def data_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("ds"), NAMES)


@pytest.mark.parametrize("batch", [1, 3])
def test_perfect_detector_scores_one_and_skips_unreadable(data_yaml: Path, batch: int) -> None:
    samples = load_split(load_data_yaml(data_yaml), "val")
    broken = data_yaml.parent / "broken.png"
    broken.write_bytes(b"not an image")
    samples.insert(2, Sample(broken, np.zeros((0, 5), np.float32)))
    reports: list[str] = []
    detector = Detector(EchoGroundTruth(), conf=0.001)
    result = evaluate(detector, samples, NAMES, batch=batch, progress=False, report=reports.append)
    assert result.map50_95 == pytest.approx(1.0) and result.map50 == pytest.approx(1.0)
    assert (result.images, result.instances, result.detections, result.skipped) == (4, 6, 6, 1)
    assert len(reports) == 1 and "broken.png" in reports[0]
    assert set(result.times_ms) == {"preprocess", "inference", "postprocess"}
    assert all(t["median"] >= 0 and t["mean"] >= 0 for t in result.times_ms.values())
    assert "ms inference" in result.format_times()


torch = pytest.importorskip("torch")
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx  # noqa: E402
from edgeyolo.models.checkpoint import save_checkpoint  # noqa: E402
from edgeyolo.models.fuse import randomize_batchnorm  # noqa: E402
from edgeyolo.models.yolo import create_model  # noqa: E402


def tiny_model(nc: int = 2):
    """A random model that finds plenty of (wrong) boxes at conf 0.001."""
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5-mobilenetv2", nc=nc), seed=1).eval()
    with torch.no_grad():
        for conv in model.head.m:
            conv.bias.view(model.head.na, -1)[:, 4] += 4.0
    model.names = NAMES[:nc] + [f"c{i}" for i in range(2, nc)]
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("models")
    model = tiny_model()
    export_onnx(model, folder / "m.onnx", OnnxExportOptions(imgsz=(64, 64), report_unfused=False))
    save_checkpoint(folder / "m.pt", model, imgsz=64)
    return model, folder / "m.onnx", folder / "m.pt"


def test_onnx_and_checkpoint_agree(models, data_yaml: Path) -> None:
    _, onnx_path, pt_path = models
    results = [evaluate_model(p, data_yaml, progress=False) for p in (onnx_path, pt_path)]
    for r in results:
        assert math.isfinite(r.map50_95) and 0 <= r.map50_95 <= r.map50 <= 1
        assert (r.images, r.instances) == (4, 6)
        assert r.detections > 0
    onnx_r, pt_r = results
    assert abs(onnx_r.map50_95 - pt_r.map50_95) < 0.002
    assert abs(onnx_r.map50 - pt_r.map50) < 0.002
    json.dumps(onnx_r.to_dict(), allow_nan=False)


def test_in_memory_model_matches_its_checkpoint_and_keeps_its_state(models, data_yaml: Path) -> None:
    model, _, pt_path = models
    samples = load_split(load_data_yaml(data_yaml), "val")
    model.train()
    model.model[0].eval()  # a frozen part stays frozen
    model.head.mode = "decoded"
    result = evaluate_torch_model(model, samples, NAMES, 64)
    assert model.training and not model.model[0].training and model.head.training
    assert model.head.mode == "decoded"
    model.eval()
    expected = evaluate_model(pt_path, data_yaml, progress=False)
    assert result.map50_95 == pytest.approx(expected.map50_95, abs=1e-9)
    assert result.detections == expected.detections


def test_class_count_mismatch_is_a_clear_error(models, tmp_path: Path) -> None:
    three = make_dataset(tmp_path, ["ball", "box", "cone"])
    with pytest.raises(ValError, match=r"2 classes but .* has 3"):
        evaluate_model(models[1], three, progress=False)


def test_exported_size_cannot_change(models, data_yaml: Path) -> None:
    with pytest.raises(ValError, match="exported for 64,64"):
        evaluate_model(models[1], data_yaml, imgsz=96, progress=False)


def test_checkpoint_size_must_fit_the_stride(models, data_yaml: Path) -> None:
    with pytest.raises(ValError, match="multiple of the largest stride"):
        evaluate_model(models[2], data_yaml, imgsz=70, progress=False)
    result = evaluate_model(models[2], data_yaml, imgsz=(64, 96), progress=False)  # a .pt takes any fit
    assert result.images == 4


def test_unreadable_image_file_in_split_is_reported(models, tmp_path: Path) -> None:
    yaml = make_dataset(tmp_path, NAMES)
    (tmp_path / "images" / "val" / "junk.jpg").write_bytes(b"\xff\xd8 junk")
    reports: list[str] = []
    result = evaluate_model(models[1], yaml, progress=False, report=reports.append)
    assert result.skipped == 1 and result.images == 4
    assert any("junk.jpg" in r for r in reports)


def test_exported_model_validates_without_torch(models, data_yaml: Path) -> None:
    code = (
        "import json\n"
        "from edgeyolo.val import evaluate_model\n"
        f"r = evaluate_model({str(models[1])!r}, {str(data_yaml)!r}, progress=False)\n"
        "print(json.dumps(r.to_dict()))\n"
    )
    proc = run_without_torch(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["images"] == 4
