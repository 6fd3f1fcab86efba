"""The bench times exactly what a user's `Detector` runs: its calls go through `Detector.detect_batch`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgeyolo.bench.harness import StagedRunner
from edgeyolo.data.synth import generate
from edgeyolo.defaults import shipped_onnx
from edgeyolo.runtime import Detector


def _frames(tmp_path: Path) -> list[np.ndarray]:
    """Images made like the shipped model's training set, so it finds objects in them."""
    generate(tmp_path / "d", {"val": 3}, seed=5, imgsz=256, workers=1)
    return [cv2.imread(str(p)) for p in sorted((tmp_path / "d" / "images" / "val").iterdir())]


def test_a_timed_call_runs_detect_batch_and_times_each_stage(tmp_path: Path, monkeypatch) -> None:
    frames = _frames(tmp_path)
    calls: list[int] = []
    original = Detector.detect_batch

    def spy(self, batch, times=None):
        calls.append(len(batch))
        return original(self, batch, times)

    with Detector(shipped_onnx(), conf=0.05) as detector:
        expected = detector.detect_batch(frames)
        monkeypatch.setattr(Detector, "detect_batch", spy)
        stages, found = StagedRunner(detector, frames, batch=3).run()
    assert calls == [3]  # the bench's call is the user's call
    assert found == sum(len(d) for d in expected) > 0
    assert all(ms > 0 for ms in stages[:3])
