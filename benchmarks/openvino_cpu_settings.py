"""Which OpenVINO CPU settings make a model fastest here, measured rather than assumed.

Compiles one model (ONNX or IR) several ways — performance hint, thread count, pinning, compute precision,
input copied or shared — and times each against onnxruntime FP32 on the same ONNX, interleaved in one
process. Prints the median per-round ratio (onnxruntime time / this variant's time: > 1 is faster).
`--profile` also prints where the time goes in the runtime's default setting: OpenVINO's per-node
counters summed by node type and kernel.

    python benchmarks/openvino_cpu_settings.py --onnx m640.onnx --model ir-int8/ --rounds 80 [--profile]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import openvino as ov

from edgeyolo.runtime.backends.onnxruntime_backend import spinning_config


def onnxruntime_call(onnx_path: Path, x: np.ndarray) -> Callable[[], object]:
    options = ort.SessionOptions()
    for key, value in spinning_config("run").items():  # the runtime's default: no spinning between calls
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda: session.run(None, {name: x})


def openvino_call(core: ov.Core, model: ov.Model, config: dict, x: np.ndarray, share: bool) -> Callable:
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    outputs = range(len(compiled.outputs))

    def call() -> list[np.ndarray]:
        request.infer({0: x}, share_inputs=share)
        return [request.get_output_tensor(i).data.copy() for i in outputs]

    return call


def variants(precision: str) -> dict[str, tuple[dict, bool]]:
    """name -> (compile config, share the input tensor)."""
    base = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
    return {
        "latency hint, input copied": (base, False),
        "latency hint (runtime default)": (base, True),
        "no hint": ({"INFERENCE_PRECISION_HINT": precision}, True),
        "throughput hint, 1 request": ({**base, "PERFORMANCE_HINT": "THROUGHPUT"}, True),
        "1 thread": ({**base, "INFERENCE_NUM_THREADS": 1}, True),
        "2 threads": ({**base, "INFERENCE_NUM_THREADS": 2}, True),
        "no pinning": ({**base, "ENABLE_CPU_PINNING": False}, True),
        "no hyper-threading": ({**base, "ENABLE_HYPER_THREADING": False}, True),
    }


def kernel_profile(core: ov.Core, model: ov.Model, precision: str, x: np.ndarray, runs: int = 30) -> None:
    """Print OpenVINO's per-node time (PERF_COUNT) summed by (node type, kernel), largest first."""
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision, "PERF_COUNT": True}
    request = core.compile_model(model, "CPU", config).create_infer_request()
    for _ in range(5):
        request.infer({0: x}, share_inputs=True)
    total: Counter = Counter()
    for _ in range(runs):
        request.infer({0: x}, share_inputs=True)
        for node in request.profiling_info:
            if node.status == node.Status.EXECUTED:
                total[(node.node_type, node.exec_type)] += node.real_time.total_seconds() * 1e3 / runs
    whole = sum(total.values())
    print(f"{precision}: {whole:.2f} ms per call in executed nodes (with counters on)")
    for (node_type, kernel), ms in total.most_common(12):
        print(f"  {ms:7.3f} ms {100 * ms / whole:5.1f}%  {node_type:18s} {kernel}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", type=Path, required=True, help="the FP32 ONNX: the onnxruntime baseline")
    p.add_argument("--model", type=Path, help="the model OpenVINO runs (default: --onnx); an IR dir or .xml")
    p.add_argument("--precision", nargs="+", default=["f32", "bf16"], help="OpenVINO inference precisions")
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--profile", action="store_true", help="also print where the time goes, by kernel")
    args = p.parse_args()

    core = ov.Core()
    path = args.model or args.onnx
    path = path / "model.xml" if path.is_dir() else path
    model = core.read_model(str(path))
    shape = [d.get_length() for d in model.input(0).get_partial_shape()]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    calls = {"onnxruntime FP32": onnxruntime_call(args.onnx, x)}
    for precision in args.precision:
        for name, (config, share) in variants(precision).items():
            calls[f"{precision}: {name}"] = openvino_call(core, model, config, x, share)
    for call in calls.values():
        for _ in range(args.warmup):
            call()
    times: dict[str, list[float]] = {k: [] for k in calls}
    names = list(calls)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate who goes first
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    base = np.asarray(times["onnxruntime FP32"])
    print(f"{path} ({shape}), {args.rounds} interleaved rounds, OpenVINO {ov.__version__}")
    for name, t in times.items():
        t = np.asarray(t)
        print(f"{name:44s} median {1e3 * np.median(t):7.2f} ms   ratio {np.median(base / t):5.2f}x")
    if args.profile:
        for precision in args.precision:
            kernel_profile(core, model, precision, x)


if __name__ == "__main__":
    main()
