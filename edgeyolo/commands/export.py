"""`edgeyolo export`: fuse, export, verify and report, for every deployment target."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from edgeyolo.commands.common import add_model_args, build_model, check_weights_args, parse_imgsz

FORMATS = ("onnx", "openvino", "trt", "triton", "deepstream")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model (fused, simplified, verified) for deployment")
    add_model_args(p)
    p.add_argument("--format", default="onnx", choices=FORMATS, help="target format")
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
    p.add_argument("--fp16", "--half", dest="half", action="store_true", help="FP16 precision")
    p.add_argument("--int8", action="store_true", help="INT8 precision (needs --data for calibration)")
    p.add_argument(
        "--bf16",
        action="store_true",
        help="OpenVINO: an IR marked for bf16 execution on CPUs with native BF16 (fp32 weights; "
        "--data data.yaml checks its mAP in bf16)",
    )
    p.add_argument("--max-det", type=int, default=300, help="detections per image (--outputs nms)")
    p.add_argument("--conf", type=float, default=0.25, help="score threshold baked in (--outputs nms)")
    p.add_argument("--iou", type=float, default=0.45, help="NMS IoU threshold baked in (--outputs nms)")
    p.add_argument("--no-verify", dest="verify", action="store_false", help="skip verification")
    p.add_argument(
        "-o", "--output", help="output path (default: next to the weights, or in the current directory)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    q = p.add_argument_group("INT8 calibration (--int8)")
    q.add_argument("--data", help="calibration images: a folder or a data.yaml (its val split checks mAP)")
    q.add_argument("--calib-size", type=int, default=300, help="calibration images to use")
    q.add_argument(
        "--quantizer",
        choices=["nncf", "ort"],
        default="nncf",
        help="who writes the QDQ ONNX (ONNX and TensorRT INT8): NNCF with bias correction, or onnxruntime",
    )
    q.add_argument(
        "--calib-method",
        choices=["minmax", "entropy", "percentile"],
        default="minmax",
        help="calibration method of --quantizer ort",
    )
    q.add_argument(
        "--int8-source",
        choices=["nncf", "qdq"],
        default="nncf",
        help="OpenVINO INT8: NNCF post-training quantization, or the onnxruntime QDQ ONNX",
    )
    q.add_argument(
        "--int8-target",
        choices=["onnxruntime", "openvino", "tensorrt"],
        default=None,
        help="ONNX INT8 (--quantizer nncf): the runtime the Q/DQ layout is written for (default onnxruntime: "
        "it fuses every quantized conv into QLinearConv; openvino: NNCF's layout; tensorrt: symmetric int8)",
    )
    q.add_argument(
        "--int8-asymmetric",
        action="store_true",
        help="OpenVINO INT8 (NNCF): asymmetric activations (preset MIXED) instead of symmetric ones",
    )
    q.add_argument("--int8-exclude-se", action="store_true", help="keep squeeze-excitation gates in float")
    q.add_argument(
        "--int8-max-drop",
        type=float,
        default=1.0,
        help="verification fails if mAP50-95 drops more than this many points",
    )
    q.add_argument(
        "--bf16-max-drop",
        type=float,
        default=0.3,
        help="--bf16: verification fails if mAP50-95 drops more than this many points",
    )
    q.add_argument("--cache-dir", help="calibration cache folder (default: ~/.cache/edgeyolo/calibration)")

    t = p.add_argument_group("TensorRT (--format trt)")
    t.add_argument("--workspace", type=float, help="builder workspace in GB (default 4)")
    t.add_argument("--dla", type=int, help="DLA core to build for (Jetson)")
    t.add_argument("--timing-cache", help="TensorRT timing cache file (default: per GPU, in the user cache)")
    t.add_argument(
        "--no-timing-cache", dest="use_timing_cache", action="store_false", help="build with no timing cache"
    )
    t.add_argument("--gpu", type=int, default=0, help="CUDA device index to build on")
    t.add_argument("--trt-min-batch", type=int, help="dynamic batch: profile's smallest (default 1)")
    t.add_argument("--trt-max-batch", type=int, help="dynamic batch: largest (default 8)")
    t.add_argument("--trt-min-imgsz", type=parse_imgsz, help="dynamic shape: smallest h,w")
    t.add_argument("--trt-max-imgsz", type=parse_imgsz, help="dynamic shape: largest h,w (default: --imgsz)")

    s = p.add_argument_group("Triton / DeepStream (--format triton|deepstream)")
    s.add_argument(
        "--model",
        help="an exported model to start from instead of a checkpoint: any format to serve (triton, "
        "deepstream), or an ONNX to quantize (--int8) or convert (--format openvino)",
    )
    s.add_argument("--repo", help="Triton model repository folder (default: ./triton-models)")
    s.add_argument("--name", help="model name in the repository (default: the file's stem)")
    s.add_argument("--max-batch", type=int, default=8, help="Triton max_batch_size for dynamic-batch models")
    s.add_argument("--instances", type=int, default=1, help="Triton instance count")
    s.add_argument("--instance-kind", choices=["auto", "gpu", "cpu"], default="auto")
    s.add_argument("--overwrite", action="store_true", help="replace an existing model folder/config")
    s.add_argument(
        "--ensemble",
        choices=["native", "python"],
        help="Triton: write images-in, detections-out ensembles (--name, default edgeyolo, takes encoded "
        "images; <name>_frames takes raw uint8 BGR frames) "
        "whose model step runs on Triton's own backend (native) or edgeyolo.runtime in Python",
    )


def run(args: argparse.Namespace) -> int:
    """Translate the arguments into an `ExportRequest`, call `edgeyolo.export.export`, print the result."""
    from edgeyolo.errors import FailedError
    from edgeyolo.export import ExportRequest, export

    fields = {f.name for f in dataclasses.fields(ExportRequest)}
    request = ExportRequest(
        **{k: v for k, v in vars(args).items() if k in fields and k not in ("cfg", "trust_checkpoint")}
    )
    source = _source(args, request)
    log = _printer(args.json)
    try:
        result = export(source, request, log=log, warn=_warning)
    except FailedError as exc:
        report = getattr(exc, "report", None)  # a failed ONNX verification carries its report
        if report is not None:
            onnx_is_result = args.json and request.format == "onnx" and not request.int8
            print(json.dumps(report.to_dict(), default=str)) if onnx_is_result else log(report.format())
        raise
    print(json.dumps(result.record, default=str) if args.json else result.text)
    return 0


def _source(args: argparse.Namespace, request):
    """An exported model (--model), a checkpoint path (--weights, default: the shipped one), or a model built
    from --cfg with random weights."""
    from edgeyolo.errors import EdgeYoloError

    if args.model:
        if args.weights or args.cfg or args.nc is not None:
            raise EdgeYoloError(
                "--model is an exported model to start from: leave out --weights, --cfg and --nc"
            )
        return args.model
    if args.weights or not args.cfg:
        request.cfg, request.trust_checkpoint = args.cfg, args.trust_checkpoint
        return check_weights_args(args)
    return build_model(args)


def _warning(message: str) -> None:
    print(f"edgeyolo export: warning: {message}", file=sys.stderr)


def _printer(to_stderr: bool):
    """Progress lines: to stdout, or to stderr when stdout carries the JSON result."""

    def say(message: str) -> None:
        print(message, file=sys.stderr if to_stderr else sys.stdout)

    return say
