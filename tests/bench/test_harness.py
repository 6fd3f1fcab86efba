"""The bench times exactly what a user's `Detector` runs: its calls go through `Detector.detect_batch`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgeyolo.bench.harness import StagedRunner
from edgeyolo.data.synth import generate
from edgeyolo.defaults import shipped_onnx
from edgeyolo.runtime import Detector, StageTimes


def _frames(tmp_path: Path) -> list[np.ndarray]:
    """Images made like the shipped model's training set, so it finds objects in them."""
    generate(tmp_path / "d", {"val": 3}, seed=5, imgsz=256, workers=1)
    return [cv2.imread(str(p)) for p in sorted((tmp_path / "d" / "images" / "val").iterdir())]


def test_a_timed_call_finds_what_detect_batch_finds_and_times_each_stage(tmp_path: Path) -> None:
    frames = _frames(tmp_path)
    with Detector(shipped_onnx(), conf=0.05) as detector:
        expected = detector.detect_batch(frames)
        stages, found = StagedRunner(detector, frames, batch=3).run()
        times = StageTimes()
        again = detector.detect_batch(frames, times)
    assert found == sum(len(d) for d in expected) > 0
    for a, b in zip(expected, again, strict=True):
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
    assert all(ms > 0 for ms in stages) and abs(stages[3] - sum(stages[:3])) < 1e-6
    assert times.inference > 0 and times.end_to_end == times.preprocess + times.inference + times.postprocess
