"""Side-by-side latency of PyTorch eager (unfused), ONNX exported without fusion, and the fused +
simplified ONNX on onnxruntime CPU, interleaved in one process (median of many), plus node counts.

    python benchmarks/bench_export.py [--iters 30] [--sizes 320 640] [--models yolov5-mobilenetv2 ...]
"""

from __future__ import annotations

import os

# Idle worker threads must not spin: on a small machine a spinning pool steals the cores from whichever
# variant runs next in the interleaved loop. Set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import copy
import statistics
import time

import numpy as np
import onnxruntime as ort
import torch

from edgeyolo.export.onnx import OnnxExportOptions, simplify_onnx, trace_to_onnx
from edgeyolo.models.fuse import randomize_batchnorm
from edgeyolo.models.yolo import create_model


def session(proto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def bench(name: str, size: int, iters: int, warmup: int, opset: int) -> dict:
    # Randomised BN: a fresh model's identical BN tensors would be de-duplicated into Identity nodes.
    model = randomize_batchnorm(create_model(name)).eval()
    options = OnnxExportOptions(imgsz=(size, size), outputs="raw", opset=opset)
    unfused = trace_to_onnx(copy.deepcopy(model), options, fused=False)
    fused = simplify_onnx(trace_to_onnx(copy.deepcopy(model), options, fused=True))
    model.head.mode = "raw"
    s_unfused, s_fused = session(unfused), session(fused)
    runners = {
        "torch eager (unfused)": lambda x, t: model(t),
        "onnx unfused": lambda x, t: s_unfused.run(None, {"images": x}),
        "onnx fused+simplified": lambda x, t: s_fused.run(None, {"images": x}),
    }
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    t = torch.from_numpy(x)
    times: dict[str, list[float]] = {k: [] for k in runners}
    with torch.inference_mode():
        for _ in range(warmup):
            for run in runners.values():
                run(x, t)
        for _ in range(iters):  # interleaved: drift hits every variant alike
            for key, run in runners.items():
                start = time.perf_counter()
                run(x, t)
                times[key].append((time.perf_counter() - start) * 1e3)
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"nodes": (len(unfused.graph.node), len(fused.graph.node)), "medians": medians}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["yolov5-mobilenetv2", "yolov4-mobilenetv3-large"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[320, 640])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    print(
        f"torch {torch.__version__}, onnxruntime {ort.__version__}, {os.cpu_count()} CPU threads, "
        f"{args.iters} interleaved iterations, median ms"
    )
    print(
        f"{'model':<26}{'size':>5}  {'nodes unfused→fused':>20}  {'torch':>8}  {'onnx':>8}  {'fused':>8}"
        f"  {'fused vs torch':>14}  {'fused vs onnx':>13}"
    )
    for name in args.models:
        for size in args.sizes:
            r = bench(name, size, args.iters, args.warmup, args.opset)
            m = list(r["medians"].values())
            nu, nf = r["nodes"]
            nodes = f"{nu}→{nf} (-{100 * (1 - nf / nu):.0f}%)"
            print(
                f"{name:<26}{size:>5}  {nodes:>20}  {m[0]:8.1f}  {m[1]:8.1f}  {m[2]:8.1f}"
                f"  {m[0] / m[2]:13.2f}x  {m[1] / m[2]:12.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
