"""`InMemoryTorchBackend`: raw outputs of a live model, its train/eval state and head mode left as found."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from edgeyolo.models.memory_backend import InMemoryTorchBackend  # noqa: E402
from edgeyolo.models.yolo import create_model  # noqa: E402
from edgeyolo.runtime.detector import Detector  # noqa: E402


def test_raw_outputs_and_state_restored() -> None:
    torch.manual_seed(0)
    model = create_model("yolov5-mobilenetv2", nc=3)
    model.names = ["a", "b", "c"]
    model.train()
    model.model[1].eval()
    backend = InMemoryTorchBackend(model, 64)
    c = backend.contract
    assert (c.imgsz, c.outputs, c.names, c.precision) == ((64, 64), "raw", ("a", "b", "c"), "fp32")
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    outputs = backend.infer(x)
    flags = {name: m.training for name, m in model.named_modules()}
    assert flags[""] and not flags["model.1"] and model.head.mode == "decoded"
    model.eval()
    model.head.mode = "raw"
    with torch.no_grad():
        expected = model(torch.from_numpy(x))
    assert len(outputs) == len(expected) == len(c.strides)
    for o, e in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(o, e.numpy(), rtol=1e-5, atol=1e-5)
    dets = Detector(backend, conf=0.001).detect(np.zeros((40, 50, 3), np.uint8))
    assert dets.names == ("a", "b", "c")
