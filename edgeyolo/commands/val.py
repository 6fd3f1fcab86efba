"""`edgeyolo val`: COCO mAP of a model (.pt, .onnx, .xml) on a YOLO dataset, through the runtime's exact
pre- and post-processing (needs pycocotools: `pip install 'edgeyolo[val]'`; torch only for `.pt`)."""

from __future__ import annotations

import argparse
import json
import sys

from edgeyolo.commands.common import add_precision_arg, add_trust_arg, parse_imgsz
from edgeyolo.commands.track_args import add_tracker_options, method_choices


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "val", help="COCO mAP of a model on a YOLO dataset (data.yaml), or tracking metrics (--track)"
    )
    p.add_argument(
        "--model",
        nargs="+",
        help="checkpoint (.pt) or exported model (.onnx, .xml); several are compared side by side "
        "(default: the shipped model)",
    )
    p.add_argument("--data", help="dataset description (data.yaml)")
    p.add_argument(
        "--track",
        dest="track_sequences",
        metavar="SEQUENCES",
        help="instead of mAP: HOTA, MOTA, IDF1 of detector + tracker on a MOTChallenge sequence or a "
        "folder of them (`edgeyolo data synth --video`)",
    )
    p.add_argument(
        "--tracker", dest="track", default="bytetrack", choices=method_choices(), help="with --track"
    )
    p.add_argument(
        "--noise",
        action="store_true",
        help="with --track: the tracker alone, on ground truth with 10%% of boxes dropped, 5%% false "
        "positives and 3 px jitter, beside the ceiling those detections allow",
    )
    p.add_argument("--seed", type=int, default=0, help="with --noise: the noise's seed")
    p.add_argument("--save", metavar="DIR", help="with --track: write each sequence's results (MOT format)")
    p.add_argument("--split", default="val", choices=["train", "val", "test"], help="split to evaluate")
    p.add_argument(
        "--imgsz", type=parse_imgsz, help="input size for a .pt (int or h,w); exported models keep theirs"
    )
    p.add_argument("--conf", type=float, help="score threshold (default 0.001; with --track 0.1)")
    p.add_argument("--iou", type=float, default=0.6, help="NMS IoU threshold")
    p.add_argument("--max-det", type=int, default=300, help="detections per image (all count in the mAP)")
    p.add_argument("--batch", type=int, default=1, help="images per inference call")
    p.add_argument("--backend", default="auto", choices=["auto", "onnxruntime", "openvino", "torch"])
    add_precision_arg(p)
    p.add_argument(
        "--device", default="cpu", help="cpu, cuda[:N], gpu (onnxruntime/torch), NPU/AUTO (openvino)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--verbose", action="store_true", help="also print pycocotools' own summary (stderr)")
    add_trust_arg(p)
    add_tracker_options(p)


def run(args: argparse.Namespace) -> int:
    from edgeyolo.errors import EdgeYoloError, require

    if args.track_sequences:
        if args.data:
            raise EdgeYoloError("give --data (mAP) or --track (tracking metrics), not both")
        from edgeyolo.commands.val_track import run_track

        return run_track(args)
    if not args.data:
        raise EdgeYoloError("give --data DATA.yaml (mAP) or --track SEQUENCES (tracking metrics)")
    if args.conf is None:
        args.conf = 0.001

    require("pycocotools.cocoeval", "val", "`edgeyolo val`")

    def report(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    if not args.model:
        from edgeyolo.defaults import shipped_weights

        args.model = [str(shipped_weights())]
    results = [(model, _evaluate(args, model, report)) for model in args.model]
    if args.json:
        one = results[0][1].to_dict()
        print(
            json.dumps(
                one if len(results) == 1 else {"models": [{"model": m, **r.to_dict()} for m, r in results]}
            )
        )
        return 0
    for model, result in results:
        if len(results) > 1:
            print(f"\n{model}")
        print(result.format_table())
        print(result.format_times())
    if len(results) > 1:
        print(side_by_side(results))
    return 0


def side_by_side(results: list) -> str:
    """One row per model: mAP50-95, mAP50 and the median inference time, for comparing formats."""
    width = max(len("model"), *(len(model) for model, _ in results)) + 2
    lines = [f"{'model':<{width}}{'mAP50-95':>10}{'mAP50':>10}{'infer ms':>10}"]
    for model, r in results:
        infer = r.times_ms.get("inference", {}).get("median", float("nan"))
        lines.append(f"{model:<{width}}{r.map50_95:>10.4f}{r.map50:>10.4f}{infer:>10.2f}")
    return "\n".join(lines)


def _evaluate(args: argparse.Namespace, model: str, report):
    from edgeyolo.val import evaluate_model

    return evaluate_model(
        model,
        args.data,
        split=args.split,
        imgsz=args.imgsz,
        conf=args.conf,
        iou=args.iou,
        max_det=args.max_det,
        batch=args.batch,
        backend=args.backend,
        device=args.device,
        trust=args.trust_checkpoint,
        progress=not args.json or sys.stderr.isatty(),
        verbose=args.verbose,
        report=report,
        precision=args.precision,
    )
