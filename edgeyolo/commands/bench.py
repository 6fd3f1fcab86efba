"""`edgeyolo bench`: latency per stage (letterbox, inference, decode+NMS, end to end), throughput, memory,
and with --data mAP, for one or several models measured side by side in one process. Needs only the
runtime (no torch) unless a `.pt` is measured or a format has to be exported on the fly."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from edgeyolo.commands.common import add_precision_arg, add_trust_arg, parse_imgsz

BACKENDS = ("auto", "onnxruntime", "openvino", "tensorrt", "torch")

JETSON_HELP = (
    "--device jetson measures on an NVIDIA Jetson board, and this machine is not one "
    "(no /proc/device-tree/model naming a Jetson, no /etc/nv_tegra_release). Run it on the board itself:\n"
    "  1. on the Jetson: pip install edgeyolo   (TensorRT comes with JetPack; no torch needed)\n"
    "  2. build the engine there: edgeyolo export --format trt --fp16 (from the .onnx), because a TensorRT "
    "engine only runs on the GPU and TensorRT version it was built with and does not move between devices\n"
    "  3. sudo jetson_clocks (locked clocks), then: edgeyolo bench --device jetson --model model.engine"
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="latency per stage, FPS, memory (and mAP with --data) of models, side by side",
        description=__doc__,
    )
    p.add_argument(
        "--model",
        nargs="+",
        help="models to compare (.onnx, .xml, .engine, .pt); the first is the baseline of the ratio column "
        "(default: the shipped model in every format available here)",
    )
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu", "jetson"], help="where to run")
    p.add_argument(
        "--backend",
        nargs="+",
        default=["auto"],
        choices=BACKENDS,
        help="backend(s); several measure each model on each (auto: by file type)",
    )
    add_precision_arg(p, many=True)
    p.add_argument("--imgsz", type=parse_imgsz, help="input size (int or h,w): a .pt runs at it, "
                   "default models are exported at it; an exported model must match it")  # fmt: skip
    p.add_argument("--batch", type=int, default=1, help="images per call (FPS counts images)")
    p.add_argument("--warmup", type=int, default=20, help="untimed calls per model first")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--iters", type=int, help="timed calls per model (default 200)")
    length.add_argument("--seconds", type=float, help="measure about this many seconds per model instead")
    p.add_argument(
        "--baseline",
        help="the row speed-ups refer to: its number (1 = first) or a unique part of its name, e.g. "
        "'onnxruntime' (default: the first row)",
    )
    p.add_argument("--threads", type=int, help="CPU threads for inference (onnxruntime, OpenVINO, torch)")
    p.add_argument("--data", help="data.yaml: add mAP50-95 / mAP50 per model (via edgeyolo val)")
    p.add_argument("--split", default="val", choices=["train", "val", "test"], help="split for --data")
    p.add_argument("--json", metavar="F", help="write every figure, raw samples and the environment")
    p.add_argument("--csv", metavar="F", help="write one row per model and stage")
    p.add_argument("--md", metavar="F", help="write the table as Markdown")
    p.add_argument("--plot", metavar="F", help="write a PNG of the latency distributions (matplotlib)")
    p.add_argument(
        "--power-seconds", type=float, default=5.0, help="Jetson: seconds per model under tegrastats"
    )
    p.add_argument("--power-interval", type=int, default=100, help="Jetson: tegrastats interval in ms")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--track",
        nargs="?",
        const="bytetrack",
        metavar="METHOD",
        help="also time a tracker on each frame's detections: a `track` stage (default method: bytetrack)",
    )
    add_trust_arg(p)


def run(args: argparse.Namespace) -> int:
    quiet_idle_threads()
    from edgeyolo.bench.environment import collect_environment
    from edgeyolo.bench.harness import BenchError, BenchOptions, run_benchmark
    from edgeyolo.bench.report import format_table, to_json, write_csv, write_json, write_markdown
    from edgeyolo.errors import EdgeYoloError

    check_device(args.device)
    environment = collect_environment(args.threads)
    warnings = _environment_warnings(args.device, environment)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    options = BenchOptions(
        warmup=args.warmup,
        iters=args.iters if args.iters is not None or args.seconds is not None else 200,
        seconds=args.seconds,
        batch=args.batch,
        progress=not args.quiet,
        track=args.track,
    )
    try:
        models, notes = resolve_models(args)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        frames = _frames(args)
        accuracy = None
        if args.data:
            from edgeyolo.bench.accuracy import AccuracyEvaluator

            accuracy = AccuracyEvaluator(args.data, args.split, progress=not args.quiet)
        power = None
        if args.device == "jetson":
            from edgeyolo.bench.jetson import power_meter

            power = power_meter(args.power_seconds, args.power_interval)
        _set_torch_threads(models, args.threads)
        baseline = pick_baseline(models, args.baseline)
        results = run_benchmark(
            models, frames, options, args.imgsz, power=power, accuracy=accuracy, baseline=baseline
        )
    except BenchError as exc:
        raise EdgeYoloError(str(exc)) from exc
    from edgeyolo.bench.memory import gpu_memory_mb, peak_rss_mb

    environment["memory"] = {"peak_rss_mb": peak_rss_mb(), "gpu": gpu_memory_mb()}
    length = f"{options.iters} calls" if options.iters else f"~{options.seconds} s"
    note = f"{length} per model after {options.warmup} warm-up, interleaved; peak RSS "
    note += f"{environment['memory']['peak_rss_mb']:.0f} MB"
    print(format_table(results, note))
    settings = {
        "device": args.device,
        "imgsz": list(args.imgsz) if args.imgsz else None,
        "batch": args.batch,
        "track": args.track,
        "warmup": options.warmup,
        "iters": options.iters,
        "seconds": options.seconds,
        "threads": args.threads,
        "precision": args.precision,
        "baseline": results[0].baseline,
        "data": args.data,
        "frames": "dataset images" if args.data else "synthetic 1280x720",
        "command": "edgeyolo " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("edgeyolo") else None,
    }
    document = to_json(results, environment, settings)
    document["warnings"] = warnings
    document["notes"] = notes
    if args.json:
        write_json(args.json, document)
    if args.csv:
        write_csv(args.csv, results)
    if args.md:
        write_markdown(args.md, results, environment, settings)
    if args.plot:
        from edgeyolo.bench.plot import plot_results

        plot_results(args.plot, results)
    return 0


def pick_baseline(models, baseline: str | None) -> int:
    """The index of the --baseline row: a 1-based number, or the one model whose name contains the text."""
    from edgeyolo.bench.harness import BenchError

    if baseline is None:
        return 0
    if baseline.isdigit():
        if not 1 <= int(baseline) <= len(models):
            raise BenchError(f"--baseline {baseline}: give 1 to {len(models)}")
        return int(baseline) - 1
    found = [i for i, m in enumerate(models) if baseline.lower() == m.name.lower()]
    found = found or [i for i, m in enumerate(models) if baseline.lower() in m.name.lower()]
    if len(found) != 1:
        names = ", ".join(m.name for m in models)
        what = "no model" if not found else f"{len(found)} models"
        raise BenchError(f"--baseline {baseline!r} matches {what}; the rows are: {names}")
    return found[0]


def check_device(device: str) -> None:
    """Refuse a device this machine does not have, saying what to do instead."""
    from edgeyolo.bench.environment import is_jetson
    from edgeyolo.errors import EdgeYoloError

    if device == "jetson" and not is_jetson():
        raise EdgeYoloError(JETSON_HELP)
    if device == "gpu":
        found = _cuda_evidence()
        if not found:
            raise EdgeYoloError(
                "--device gpu needs an NVIDIA GPU with CUDA, and none is visible here: no nvidia-smi, no "
                "CUDAExecutionProvider in onnxruntime (pip install onnxruntime-gpu), no CUDA in torch. "
                "Measure this machine with --device cpu; on a Jetson use --device jetson"
            )


def _cuda_evidence() -> list[str]:
    import shutil

    from edgeyolo.bench.default_models import importable

    found = []
    if shutil.which("nvidia-smi"):
        found.append("nvidia-smi")
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        found.append("onnxruntime CUDA")
    if importable("torch"):
        import torch

        if torch.cuda.is_available():
            found.append("torch CUDA")
    return found


def _environment_warnings(device: str, env: dict) -> list[str]:
    out = []
    jetson = env.get("jetson") or {}
    if device == "jetson" and (jetson.get("clocks") or {}).get("locked") is False:
        out.append(
            "the Jetson's clocks are not locked (min != max frequency): latency and power will vary with "
            "DVFS; run `sudo jetson_clocks` first for repeatable numbers"
        )
    return out


def _device_for(backend: str, device: str) -> str:
    if device == "cpu":
        return "cpu"
    return "GPU" if backend == "openvino" else "cuda"


def resolve_models(args: argparse.Namespace):
    """The `BenchModel`s to measure (explicit --model × --backend, or the defaults) and notes on what was
    left out."""
    from edgeyolo.bench.default_models import BenchContext, default_models
    from edgeyolo.bench.harness import BenchError
    from edgeyolo.runtime.backends import default_backend

    if not args.model:
        if args.backend != ["auto"] or args.precision:
            raise BenchError(
                "--backend and --precision need --model; the default models pick their own backends and "
                "precisions (every precision this machine runs natively)"
            )
        ctx = BenchContext(args.device, args.imgsz)
        models = default_models(ctx)
        for m in models:
            _add_options(m, args)
        if not models:
            raise BenchError("no format of the shipped model can run here: " + "; ".join(ctx.notes))
        return models, ctx.notes
    models = []
    for path in args.model:
        if not Path(path).exists():
            raise BenchError(f"model {path} does not exist")
        for backend in args.backend:
            name = default_backend(path) if backend == "auto" else backend
            if args.precision:
                models += [_model(path, backend, name, args, precision=p) for p in args.precision]
                continue
            variants = [False, True] if name == "torch" and args.device != "cpu" else [False]
            models += [_model(path, backend, name, args, half=half) for half in variants]
    return models, []


def _model(path: str, backend: str, name: str, args: argparse.Namespace, half: bool = False, precision=None):
    """One --model × --backend (× --precision) entry, labelled so the rows can be told apart."""
    from edgeyolo.bench.harness import BenchModel

    m = BenchModel(Path(path), backend, _device_for(name, args.device))
    tags = [name] if len(args.backend) > 1 else []
    if name == "torch":
        m.options["trust"] = args.trust_checkpoint
        if precision is None:
            m.options["half"] = half
            tags = ["torch", "FP16" if half else "FP32"]
    if precision is not None:
        m.options["precision"] = precision
        tags.append(precision)
    if tags:
        m.label = f"{Path(path).name} [{' '.join(tags)}]"
    _add_options(m, args)
    return m


def _add_options(model, args: argparse.Namespace) -> None:
    if args.threads and model.backend_name in ("onnxruntime", "openvino") and model.device in ("cpu", "CPU"):
        model.options["threads"] = args.threads


def quiet_idle_threads() -> None:
    """Make idle OpenMP threads (torch's) sleep instead of spinning, unless the user chose a policy.

    The bench takes turns between models on the same cores: a pool still spinning after its call returns
    takes the cores from the next model and makes it look slower than it runs alone (onnxruntime's pools
    stop on their own, see its backend's `spinning`). OpenMP reads this when torch is first imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _set_torch_threads(models, threads: int | None) -> None:
    if threads and any(m.backend_name == "torch" for m in models):
        import torch

        torch.set_num_threads(threads)


def _frames(args: argparse.Namespace):
    from edgeyolo.bench.frames import read_frames, synthetic_frames

    if args.data:
        from edgeyolo.bench.accuracy import dataset_images
        from edgeyolo.bench.harness import BenchError

        frames = read_frames(dataset_images(args.data, args.split))
        if not frames:
            raise BenchError(f"no readable images in the {args.split} split of {args.data}")
        return frames
    return synthetic_frames()
