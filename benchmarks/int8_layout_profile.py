"""What onnxruntime runs for INT8 QDQ files, and how fast, next to the FP32 file.

For each file: node types of onnxruntime's optimized CPU graph (QLinearConv, float convs on dequantized
weights, DequantizeLinear), onnxruntime's own profiler split by op type, and inference-only latency
interleaved with the first (FP32) file in one process: median of per-round speed-ups.

    edgeyolo export --imgsz 640 -o fp32.onnx
    edgeyolo export --model fp32.onnx --int8 --data calib/data.yaml -o ort.onnx
    edgeyolo export --model fp32.onnx --int8 --data calib/data.yaml --int8-target openvino -o ov.onnx
    python benchmarks/int8_layout_profile.py fp32.onnx ort.onnx ov.onnx [--rounds 60]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edgeyolo.export.ort_graph import FLOAT_CONVS, optimized_graph
from edgeyolo.runtime.backends.onnxruntime_backend import spinning_config


def session(path: str, profile: str | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    for key, value in spinning_config("run").items():  # the runtime's default: no spinning between calls
        options.add_session_config_entry(key, value)
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def feed(s: ort.InferenceSession) -> dict[str, np.ndarray]:
    i = s.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in i.shape]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    return {i.name: x if "float" in i.type else (x * 255).astype(np.uint8)}


def op_profile(path: str, runs: int = 10) -> tuple[float, Counter]:
    """Kernel time per run (ms) and its split by op type, from onnxruntime's profiler."""
    with tempfile.TemporaryDirectory() as tmp:
        s = session(path, str(Path(tmp) / "profile"))
        x = feed(s)
        for _ in range(runs):
            s.run(None, x)
        events = json.loads(Path(s.end_profiling()).read_text())
    spent: Counter = Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            spent[e["args"]["op_name"]] += e["dur"]
    return sum(spent.values()) / runs / 1000, spent


def interleaved(paths: list[str], rounds: int, warmup: int = 5) -> list[list[float]]:
    """Per-round inference seconds of every file, the files run in turn within each round."""
    sessions = [session(p) for p in paths]
    feeds = [feed(s) for s in sessions]
    times: list[list[float]] = [[] for _ in paths]
    for r in range(warmup + rounds):
        for k, (s, x) in enumerate(zip(sessions, feeds, strict=True)):
            t = time.perf_counter()
            s.run(None, x)
            if r >= warmup:
                times[k].append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+", help="the FP32 ONNX first, then INT8 ONNX files")
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    header = f"{'model':<28} {'QLinearConv':>11} {'float conv':>10} {'on DQ w':>7} {'DQ':>4}"
    print(f"{header}  onnxruntime profile: kernel ms per run, share by op type")
    for path in args.models:
        g = optimized_graph(path)
        total, spent = op_profile(path)
        top = ", ".join(f"{op} {t / sum(spent.values()):.0%}" for op, t in spent.most_common(5))
        floats = sum(g.ops[t] for t in FLOAT_CONVS)
        print(
            f"{Path(path).name:<28} {g.ops['QLinearConv']:>11} {floats:>10} "
            f"{len(g.float_convs_on_dequantized_weights):>7} {g.ops['DequantizeLinear']:>4}  "
            f"{total:.1f} ms: {top}"
        )
    times = interleaved(args.models, args.rounds)
    print(
        f"\ninference only, {args.rounds} interleaved rounds; speed-up = median of per-round FP32/INT8 ratios"
    )
    for path, t in zip(args.models, times, strict=True):
        ratios = [a / b for a, b in zip(times[0], t, strict=True)]
        print(
            f"{Path(path).name:<28} median {1000 * statistics.median(t):7.2f} ms  "
            f"speed-up {statistics.median(ratios):.2f}x (p25 {np.percentile(ratios, 25):.2f}, "
            f"p75 {np.percentile(ratios, 75):.2f})"
        )


if __name__ == "__main__":
    main()
