"""`edgeyolo export`: fuse, export, verify and report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgeyolo.atomic import prepare_parent
from edgeyolo.commands.common import add_model_args, build_model, parse_imgsz


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model (fused, simplified, verified) for deployment")
    add_model_args(p)
    p.add_argument("--format", default="onnx", choices=["onnx"], help="target format")
    p.add_argument(
        "--imgsz",
        type=parse_imgsz,
        help="input size, int or h,w (default: the checkpoint's, else 640)",
    )
    p.add_argument("--batch", type=int, default=1, help="batch size of the exported input")
    p.add_argument(
        "--dynamic",
        nargs="?",
        const="batch",
        choices=["batch", "shape", "all"],
        help="dynamic axes: batch (default when given), shape (height/width) or all",
    )
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 14)")
    p.add_argument("--simplify", action=argparse.BooleanOptionalAction, default=True, help="run onnxsim")
    p.add_argument("--outputs", choices=["raw", "decoded", "nms"], default="raw", help="output layout")
    p.add_argument(
        "--input",
        choices=["float", "uint8"],
        default="float",
        help="float: NCHW RGB in [0,1]; uint8: letterboxed NHWC BGR frame as OpenCV gives it",
    )
    p.add_argument("--half", action="store_true", help="FP16 weights and activations")
    p.add_argument("--max-det", type=int, default=300, help="detections per image (--outputs nms)")
    p.add_argument("--conf", type=float, default=0.25, help="score threshold baked in (--outputs nms)")
    p.add_argument("--iou", type=float, default=0.45, help="NMS IoU threshold baked in (--outputs nms)")
    p.add_argument("--no-verify", dest="verify", action="store_false", help="skip verification")
    p.add_argument("-o", "--output", help="output path (default: next to the weights, or ./<cfg>.onnx)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    model = build_model(args)
    from edgeyolo.export.metadata import sha256_file, sha256_text
    from edgeyolo.export.onnx import OnnxExportOptions, VerificationError, export_onnx

    imgsz = args.imgsz or _checkpoint_imgsz(args) or (640, 640)
    output = Path(args.output) if args.output else _default_output(args, model)
    prepare_parent(output)
    options = OnnxExportOptions(
        imgsz=imgsz,
        batch=args.batch,
        dynamic_batch=args.dynamic in ("batch", "all"),
        dynamic_shape=args.dynamic in ("shape", "all"),
        opset=args.opset,
        simplify=args.simplify,
        outputs=args.outputs,
        uint8_input=args.input == "uint8",
        half=args.half,
        max_det=args.max_det,
        conf=args.conf,
        iou=args.iou,
        verify=args.verify,
    )
    source = sha256_file(args.weights) if args.weights else sha256_text(model.cfg.text)
    try:
        report, _ = export_onnx(model, output, options, source_sha256=source)
    except VerificationError as exc:
        print(json.dumps(exc.report.to_dict()) if args.json else exc.report.format())
        raise
    print(json.dumps(report.to_dict()) if args.json else report.format())
    return 0


def _checkpoint_imgsz(args: argparse.Namespace) -> tuple[int, int] | None:
    if not args.weights:
        return None
    from edgeyolo.models.checkpoint import load_checkpoint

    size = load_checkpoint(args.weights, trust=args.trust_checkpoint).imgsz
    return (size, size)


def _default_output(args: argparse.Namespace, model) -> Path:
    from edgeyolo.defaults import is_shipped

    if args.weights and not is_shipped(args.weights):
        return Path(args.weights).with_suffix(".onnx")
    if args.weights:  # never write into the installed package
        return Path(Path(args.weights).stem + ".onnx")
    return Path(f"{model.cfg.name}.onnx")
