"""Where `Detector.detect` spends its time: letterbox+blob, inference, decode+NMS+scaling, end to end.

Exports yolov5-mobilenetv2 at 640 (random weights, head scaled and biased so about 0.5% of the cells
pass conf 0.25, as with a trained model on a busy scene) and times each stage on a 1280x720 frame,
interleaved, median of many.

    python benchmarks/bench_detector.py [--iters 100] [--imgsz 640] [--backend onnxruntime]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.yolo import create_model
from edgeyolo.runtime import Detector


def make_model(path: Path, imgsz: int) -> None:
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5-mobilenetv2")).eval()
    with torch.no_grad():  # logits that vary with the image, ~0.5% of cells above conf 0.25
        for conv in model.head.m:
            conv.weight.mul_(40)
            conv.bias.view(model.head.na, -1)[:, 4] -= 2.5
    export_onnx(model, path, OnnxExportOptions(imgsz=(imgsz, imgsz), report_unfused=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--backend", default="onnxruntime")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        make_model(path, args.imgsz)
        det = Detector(path, backend=args.backend, conf=0.25)
        rng = np.random.default_rng(0)
        frame = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
        stages: dict[str, list[float]] = {k: [] for k in ("preprocess", "inference", "postprocess", "detect")}
        for i in range(args.iters + 5):
            t0 = time.perf_counter()
            x, info = det.preprocess(frame)
            t1 = time.perf_counter()
            out = det.backend.infer(x)
            t2 = time.perf_counter()
            dets = det.postprocess(out, [info])[0]
            t3 = time.perf_counter()
            det.detect(frame)
            t4 = time.perf_counter()
            if i >= 5:
                for key, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    stages[key].append(dt * 1e3)
        med = {k: statistics.median(v) for k, v in stages.items()}
        overhead = med["preprocess"] + med["postprocess"]
        print(
            f"{args.backend} {det.backend.details}, imgsz {args.imgsz}, 1280x720 frame, "
            f"{len(dets)} detections, "
            f"median of {args.iters}"
        )
        for key, value in med.items():
            print(f"  {key:<12} {value:8.2f} ms")
        print(
            f"  runtime overhead (letterbox + decode + NMS + scaling) {overhead:.2f} ms = "
            f"{100 * overhead / med['detect']:.1f}% of detect()"
        )
        det.close()


if __name__ == "__main__":
    main()
