"""What `edgeyolo export` does for each format. Every artifact is built and verified in a temporary folder
and only then copied into place atomically, so a failed or interrupted export leaves nothing behind."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from edgeyolo.atomic import atomic_output, prepare_parent
from edgeyolo.commands.common import build_model
from edgeyolo.errors import EdgeYoloError


def check_request(args: argparse.Namespace) -> None:
    """Refuse impossible combinations before any work is done."""
    fmt = args.format
    if fmt != "trt":
        for flag, value in (
            ("--dla", args.dla),
            ("--workspace", args.workspace),
            ("--timing-cache", args.timing_cache),
        ):
            if value is not None:
                raise EdgeYoloError(f"{flag} applies to TensorRT engines only (--format trt)")
    if args.int8 and args.half:
        raise EdgeYoloError(
            "choose one precision: --fp16 or --int8 (TensorRT INT8 engines use FP16 fallback anyway)"
        )
    if args.int8 and fmt in ("triton", "deepstream"):
        raise EdgeYoloError(
            f"--format {fmt} serves an exported model: export it first (e.g. --format onnx --int8), "
            f"then pass it with --model"
        )
    if args.model and fmt not in ("triton", "deepstream"):
        raise EdgeYoloError("--model is for --format triton/deepstream; export from --weights or --cfg")
    if getattr(args, "ensemble", None) and fmt != "triton":
        raise EdgeYoloError("--ensemble is for --format triton")
    _refuse_unused_int8_options(args)
    if args.int8:
        from edgeyolo.export.calibration import find_calibration_images

        args.calibration = find_calibration_images(args.data, args.calib_size, _note)
    elif args.data:
        raise EdgeYoloError("--data is for INT8 calibration: add --int8, or leave --data out")
    if fmt == "trt":
        from edgeyolo.export.tensorrt import require_tensorrt

        require_tensorrt()  # before minutes of export and calibration


def _refuse_unused_int8_options(args: argparse.Namespace) -> None:
    """An option the chosen path would ignore is an error, not a silent no-op."""
    given = {
        "--quantizer": args.quantizer != "nncf",
        "--calib-method": args.calib_method != "minmax",
        "--int8-source": args.int8_source != "nncf",
        "--int8-exclude-se": args.int8_exclude_se,
        "--cache-dir": args.cache_dir is not None,
    }
    nncf_ir = args.format == "openvino" and args.int8_source == "nncf"
    applies = {
        "--quantizer": args.int8 and not nncf_ir,
        "--calib-method": args.int8 and not nncf_ir and args.quantizer == "ort",
        "--int8-source": args.int8 and args.format == "openvino",
        "--int8-exclude-se": args.int8 and not nncf_ir,
        "--cache-dir": args.int8 and not nncf_ir,
    }
    for flag, set_ in given.items():
        if set_ and not applies[flag]:
            why = "needs --int8" if not args.int8 else "does not apply to this INT8 path"
            if flag == "--calib-method" and args.int8 and not nncf_ir:
                why = "is a setting of --quantizer ort"
            elif nncf_ir and flag != "--int8-source":
                why = "applies to the QDQ route (--int8-source qdq), not NNCF on the IR"
            raise EdgeYoloError(f"{flag} {why}")


def run_export(args: argparse.Namespace) -> int:
    if args.format in ("triton", "deepstream") and args.model:
        return _serve(args, Path(args.model))
    model = build_model(args)
    flows = {
        "onnx": _onnx,
        "openvino": _openvino,
        "trt": _trt,
        "triton": _serve_export,
        "deepstream": _serve_export,
    }
    return flows[args.format](args, model)


# -- formats -------------------------------------------------------------------------------------------
def _onnx(args, model) -> int:
    if not args.int8:
        output = _output(args, model, ".onnx")
        prepare_parent(output)
        _export_onnx(args, model, output, half=args.half, final=True)
        return 0
    from edgeyolo.export.int8_onnx import quantize_onnx

    output = _output(args, model, "-int8.onnx")
    prepare_parent(output)
    with tempfile.TemporaryDirectory(prefix="edgeyolo-export-") as tmp:
        fp32 = Path(tmp) / "model.onnx"
        _export_onnx(args, model, fp32)
        int8 = Path(tmp) / "model-int8.onnx"
        report = quantize_onnx(fp32, int8, args.calibration, _int8_options(args))
        report.path = str(output)
        _say(args, report.format())
        final_report = dataclasses.asdict(report)
        final_report["verification"] = _check_int8(args, fp32, int8)
        _publish(int8, output)
    _report(args, final_report, f"wrote {output}", final=True)
    return 0


def _openvino(args, model) -> int:
    from edgeyolo.export.openvino import export_openvino
    from edgeyolo.export.verify_targets import verify_openvino

    precision = _precision(args)
    output = _output(args, model, f"-openvino-{precision}")
    _check_ir_output(output)
    prepare_parent(output, directory=True)
    with tempfile.TemporaryDirectory(prefix="edgeyolo-export-") as tmp:
        fp32 = Path(tmp) / "model.onnx"
        _, contract = _export_onnx(args, model, fp32)
        qdq = None
        if args.int8 and args.int8_source == "qdq":
            from edgeyolo.export.int8_onnx import quantize_onnx

            qdq = Path(tmp) / "model-int8.onnx"
            _say(args, quantize_onnx(fp32, qdq, args.calibration, _int8_options(args)).format())
        ir = Path(tmp) / "ir"
        report = export_openvino(
            fp32, ir, contract, precision, getattr(args, "calibration", None), args.int8_source, qdq
        )
        report.path = f"{output}/"
        _say(args, report.format())
        final_report = dataclasses.asdict(report)
        if args.verify and precision != "int8":
            result = verify_openvino(ir, model, _with_precision(contract, precision), args.batch)
            _say(args, f"OpenVINO verification {'PASSED' if result.ok else 'FAILED'}: {result.detail}")
            final_report["verification"] = dataclasses.asdict(result)
            if not result.ok:
                raise EdgeYoloError(f"{output.name} does not match PyTorch; nothing was written")
        elif precision == "int8":
            final_report["verification"] = _check_int8(args, fp32, ir)
        _publish(ir, output, directory=True)
    _report(args, final_report, f"wrote {output}/ (model.xml, model.bin)", final=True)
    return 0


def _trt(args, model) -> int:
    from edgeyolo.export.tensorrt import TensorRTOptions, build_engine, check_tensorrt_request

    precision = _precision(args)
    output = _output(args, model, f"-{precision}.engine")
    prepare_parent(output)
    options = TensorRTOptions(
        precision=precision,
        workspace_gb=4.0 if args.workspace is None else args.workspace,
        dla_core=args.dla,
        batch=args.batch,
        timing_cache=args.timing_cache,
        nms=args.outputs == "nms",
        max_det=args.max_det,
        conf=args.conf,
        iou=args.iou,
        verify=args.verify,
        device=args.gpu,
    )
    with tempfile.TemporaryDirectory(prefix="edgeyolo-export-") as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        # EfficientNMS_TRT takes the decoded outputs; the plugin replaces our ONNX NMS.
        _, contract = _export_onnx(args, model, onnx_path, outputs="decoded" if options.nms else None)
        check_tensorrt_request(options, contract)
        if args.int8:
            from edgeyolo.export.int8_onnx import quantize_onnx

            qdq = Path(tmp) / "model-int8.onnx"
            int8_options = _int8_options(args, symmetric=True)  # TensorRT takes zero-point-0 INT8 only
            _say(args, quantize_onnx(onnx_path, qdq, args.calibration, int8_options).format())
            _check_int8(args, onnx_path, qdq)
            onnx_path = qdq
        report = build_engine(onnx_path, output, options, rebuild=_command_line())
    print(json.dumps(report, default=str) if args.json else f"wrote {output} and {output}.json")
    return 0


def _serve_export(args, model) -> int:
    """Triton/DeepStream from weights: export a suitable ONNX first, then write the serving files."""
    with tempfile.TemporaryDirectory(prefix="edgeyolo-export-") as tmp:
        stem = args.name or (Path(args.weights).stem if args.weights else model.cfg.name)
        onnx_path = Path(tmp) / f"{stem}.onnx"
        outputs = None
        if args.format == "deepstream" and args.outputs == "raw":
            outputs = "nms"  # nvinfer cannot decode raw anchor outputs with a stock parser
            _say(args, "DeepStream: exporting with --outputs nms (raw outputs need a custom decoder)")
        if args.format == "triton" and not args.dynamic:
            args.dynamic = "batch"  # lets Triton's dynamic batcher group requests
        _export_onnx(args, model, onnx_path, outputs=outputs)
        return _serve(args, onnx_path)


def _serve(args, model_path: Path) -> int:
    if args.format == "triton" and getattr(args, "ensemble", None):
        from edgeyolo.export.triton_ensemble import write_triton_ensemble

        path = write_triton_ensemble(
            model_path,
            args.repo or "triton-models",
            args.name or "edgeyolo",
            model_step=args.ensemble,
            max_batch=args.max_batch,
            instances=args.instances,
            device=args.instance_kind,
            overwrite=args.overwrite,
        )
        _say(args, f"wrote Triton ensemble {path} (with {path.name}_preprocess, _model, _postprocess)")
        return 0
    if args.format == "triton":
        from edgeyolo.export.triton import write_triton_repository

        path = write_triton_repository(
            model_path,
            args.repo or "triton-models",
            args.name,
            max_batch=args.max_batch,
            instances=args.instances,
            device=args.instance_kind,
            overwrite=args.overwrite,
        )
        _say(args, f"wrote Triton model {path}")
        return 0
    from edgeyolo.export.deepstream import write_deepstream_config

    out = Path(args.output or f"{Path(args.name or model_path.stem).name}-deepstream")
    files = write_deepstream_config(
        model_path,
        out,
        batch=args.batch if args.batch != 1 else None,
        precision=_precision(args) if args.int8 or args.half else None,
        gpu_id=args.gpu,
        conf=args.conf,
        iou=args.iou,
        topk=args.max_det,
        overwrite=args.overwrite,
    )
    _say(args, "wrote " + ", ".join(str(f) for f in files))
    return 0


# -- shared steps --------------------------------------------------------------------------------------
def _export_onnx(
    args, model, output: Path, half: bool = False, outputs: str | None = None, final: bool = False
):
    """The verified float ONNX every target starts from. Its report is the command's output when the ONNX
    is the final artifact; otherwise it is progress, printed as text to stderr."""
    from edgeyolo.export.metadata import sha256_file, sha256_text
    from edgeyolo.export.onnx import OnnxExportOptions, VerificationError, export_onnx

    options = OnnxExportOptions(
        imgsz=args.imgsz or _checkpoint_imgsz(args) or (640, 640),
        batch=args.batch,
        dynamic_batch=args.dynamic in ("batch", "all"),
        dynamic_shape=args.dynamic in ("shape", "all"),
        opset=args.opset,
        simplify=args.simplify,
        outputs=outputs or args.outputs,
        uint8_input=args.input == "uint8",
        half=half,
        max_det=args.max_det,
        conf=args.conf,
        iou=args.iou,
        verify=args.verify,
    )
    source = sha256_file(args.weights) if args.weights else sha256_text(model.cfg.text)
    try:
        report, contract = export_onnx(model, output, options, source_sha256=source)
    except VerificationError as exc:
        _report(args, exc.report.to_dict(), exc.report.format(), final)
        raise
    _report(args, report.to_dict(), report.format(), final)
    return report, contract


def _check_int8(args, reference: Path, int8: Path) -> dict | None:
    """mAP verification when --data has a labelled val split; otherwise say it was not checked."""
    from edgeyolo.data.formats import load_data_yaml

    if not args.verify:
        return None
    data = Path(args.data)
    if data.suffix.lower() not in (".yaml", ".yml") or "val" not in load_data_yaml(data).splits:
        _say(args, "INT8 accuracy not verified: --data has no labelled val split (give a data.yaml)")
        return None
    from edgeyolo.export.verify_targets import check_int8

    check = check_int8(reference, int8, data, args.int8_max_drop)
    _say(args, check.format())
    if check.ok:
        return {"ok": True, "drop_points": check.drop, "conf_diff": check.conf_diff, "detail": check.format()}
    else:
        raise EdgeYoloError(
            "the INT8 model loses too much accuracy; nothing was written. Try more/representative "
            "--data, another --calib-method, --int8-exclude-se, or raise --int8-max-drop"
        )


def _int8_options(args, symmetric: bool = False):
    from edgeyolo.export.int8_onnx import Int8Options

    return Int8Options(
        quantizer=args.quantizer,
        method=args.calib_method,
        symmetric=symmetric,
        exclude_se=args.int8_exclude_se,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
    )


def _check_ir_output(output: Path) -> None:
    """An IR is a folder that replaces `output`: never a file, the working folder, or a folder of other
    things (they would be lost)."""
    if output.name in ("", ".", "..") or output.resolve() == Path.cwd().resolve():
        raise EdgeYoloError(f"-o {output}: give a new folder name for the OpenVINO IR (model.xml, .bin)")
    if output.suffix.lower() == ".xml":
        raise EdgeYoloError(f"-o {output}: an OpenVINO IR is written as a folder; give the folder name")
    if output.exists() and not output.is_dir():
        raise EdgeYoloError(f"-o {output} is an existing file; the OpenVINO IR is a folder")
    if output.is_dir():
        other = sorted(p.name for p in output.iterdir() if p.name not in ("model.xml", "model.bin"))
        if other:
            raise EdgeYoloError(
                f"-o {output} holds other files ({', '.join(other[:3])}); an IR export replaces the whole "
                "folder, so give an empty or new one"
            )


def _publish(src: Path, dest: Path, directory: bool = False) -> None:
    with atomic_output(dest, directory=directory) as tmp:
        if directory:
            shutil.copytree(src, tmp, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, tmp)


def _precision(args) -> str:
    return "int8" if args.int8 else "fp16" if args.half else "fp32"


def _with_precision(contract, precision: str):
    return dataclasses.replace(contract, precision=precision)


def _output(args, model, suffix: str) -> Path:
    """-o, else beside the weights (never inside the installed package), else ./<cfg><suffix>."""
    from edgeyolo.defaults import is_shipped

    if args.output:
        return Path(args.output)
    if args.weights and not is_shipped(args.weights):
        weights = Path(args.weights)
        return weights.with_name(weights.stem + suffix)
    stem = Path(args.weights).stem if args.weights else model.cfg.name
    return Path(stem + suffix)


def _checkpoint_imgsz(args) -> tuple[int, int] | None:
    if not args.weights:
        return None
    from edgeyolo.models.checkpoint import load_checkpoint

    size = load_checkpoint(args.weights, trust=args.trust_checkpoint).imgsz
    return (size, size)


def _command_line() -> str:
    return "edgeyolo " + shlex.join(sys.argv[1:])


def _report(args, record: dict, text: str, final: bool) -> None:
    """The command's result: JSON on stdout with --json, else text. Intermediate steps go to stderr."""
    if not final:
        print(text, file=sys.stderr if args.json else sys.stdout)
    else:
        print(json.dumps(record, default=str) if args.json else text)


def _say(args, message: str) -> None:
    print(message, file=sys.stderr if args.json else sys.stdout)


def _note(message: str) -> None:
    print(f"edgeyolo export: warning: {message}", file=sys.stderr)
