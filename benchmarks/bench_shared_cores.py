"""What one library's threads cost the next one on the same cores, side by side in one run.

1. The input tensor: `cv2.dnn.blobFromImage` against `edgeyolo.runtime.blob.to_blob` on a letterboxed
   frame, interleaved, in a process without and then with an OpenVINO model running between calls.
2. onnxruntime's thread spinning (`Detector(spinning=...)`): for each mode, a fresh process runs the
   onnxruntime model and the same file on OpenVINO (bf16 where the CPU has it) interleaved, end to end.

    python benchmarks/bench_shared_cores.py [--model edgeyolo/assets/shapes-yolov5s-mobilenetv2.onnx]
        [--imgsz 640] [--iters 60]

`--imgsz` other than the file's exports the shipped checkpoint at that size first (needs torch).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from edgeyolo.bench.frames import synthetic_frames
from edgeyolo.defaults import shipped_onnx, shipped_weights
from edgeyolo.runtime import Detector, StageTimes
from edgeyolo.runtime.blob import to_blob
from edgeyolo.runtime.letterbox import letterbox

MODES = ("always", "run", "never")


def _median_ms(samples: list[float]) -> float:
    return 1e3 * statistics.median(samples)


def blob_rounds(img: np.ndarray, iters: int, between=None) -> tuple[float, float]:
    """Median ms of cv2's blob and of `to_blob`, interleaved; `between` runs before each timed call."""
    times: dict[str, list[float]] = {"cv2": [], "to_blob": []}
    calls = {
        "cv2": lambda: cv2.dnn.blobFromImage(img, scalefactor=1 / 255.0, swapRB=True),
        "to_blob": lambda: to_blob(img),
    }
    for r in range(iters):
        for name in ["cv2", "to_blob"] if r % 2 else ["to_blob", "cv2"]:
            if between is not None:
                between()
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return _median_ms(times["cv2"]), _median_ms(times["to_blob"])


def spinning_child(model: str, mode: str, iters: int) -> dict[str, float]:
    """onnxruntime (spinning `mode`) alone, then interleaved with OpenVINO on the same file: median e2e ms,
    and OpenVINO's speed-up as the median of per-round ratios."""
    frames = synthetic_frames(4)
    ort = Detector(model, backend="onnxruntime", spinning=mode)
    ov = Detector(model, backend="openvino", precision="auto")

    def e2e(detector: Detector, r: int) -> float:
        t = StageTimes()
        detector.detect_batch([frames[r % len(frames)]], t)
        return t.end_to_end

    for r in range(10):
        e2e(ort, r), e2e(ov, r)
    alone = [e2e(ort, r) for r in range(iters)]
    pairs = []
    for r in range(iters):  # who goes first alternates
        if r % 2:
            ort_ms = e2e(ort, r)
            pairs.append((ort_ms, e2e(ov, r)))
        else:
            ov_ms = e2e(ov, r)
            pairs.append((e2e(ort, r), ov_ms))
    return {
        "onnxruntime_alone": statistics.median(alone),
        "onnxruntime": statistics.median(a for a, _ in pairs),
        "openvino": statistics.median(b for _, b in pairs),
        "speedup": statistics.median(a / b for a, b in pairs),
        "openvino_precision": ov.backend.details["precision"],
    }


def _model_at(imgsz: int | None, folder: Path) -> str:
    if imgsz is None:
        return str(shipped_onnx())
    from edgeyolo.export import ExportRequest, export

    path = folder / f"model-{imgsz}.onnx"
    export(shipped_weights(), ExportRequest(output=path, imgsz=(imgsz, imgsz)))
    return str(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="an exported ONNX (default: the shipped one, or --imgsz)")
    p.add_argument("--imgsz", type=int, help="export the shipped checkpoint at this size")
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--processes", type=int, default=3, help="fresh processes per spinning mode")
    p.add_argument("--child", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(spinning_child(args.child[0], args.child[1], args.iters)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or _model_at(args.imgsz, Path(tmp))
        with Detector(model, backend="openvino", precision="auto") as ov:
            h, w = ov.contract.imgsz
            img, _ = letterbox(synthetic_frames(1)[0], (h, w))
            x = to_blob(img)
            print(f"input tensor at {h}x{w}, median ms of {args.iters} interleaved calls each")
            alone = blob_rounds(img, args.iters)
            shared = blob_rounds(img, args.iters, between=lambda: ov.backend.infer(x))
        for label, (cv, ours) in (("alone", alone), ("after an OpenVINO call", shared)):
            print(f"  {label:24s} cv2 {cv:6.2f}  to_blob {ours:6.2f}  ratio {cv / ours:5.1f}x")

        print(
            "onnxruntime by spinning mode: e2e median ms alone, then interleaved with OpenVINO on the same "
            f"file; medians over {args.processes} fresh processes per mode, taken in turn"
        )
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for _ in range(args.processes):
            for mode in MODES:
                cmd = [sys.executable, __file__, "--child", model, mode, "--iters", str(args.iters)]
                runs[mode].append(
                    json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                )
        for mode, results in runs.items():
            med = {
                k: statistics.median(r[k] for r in results) for k in results[0] if k != "openvino_precision"
            }
            print(
                f"  spinning={mode:7s} alone {med['onnxruntime_alone']:6.2f} | interleaved: onnxruntime "
                f"{med['onnxruntime']:6.2f}, OpenVINO ({results[0]['openvino_precision']}) "
                f"{med['openvino']:6.2f}, OpenVINO speed-up {med['speedup']:4.2f}x"
            )


if __name__ == "__main__":
    main()
