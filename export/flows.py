"""The steps `edgeyolo.export.export()` runs for each format (one function per target)."""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeyolo.atomic import atomic_output, prepare_parent
from edgeyolo.errors import EdgeYoloError, FailedError
from edgeyolo.export.api import ExportResult, ResolvedSource, int8_failure, temporary_folder, with_precision
from edgeyolo.export.request import ExportRequest


@dataclass
class Job:
    """One export in progress: the request, its resolved source, calibration images and the progress log."""

    request: ExportRequest
    source: ResolvedSource
    calibration: Any
    log: Callable[[str], None]

    def output(self, suffix: str) -> Path:
        """-o, else beside the weights (never inside the installed package), else ./<name><suffix>."""
        from edgeyolo.defaults import is_shipped

        r, s = self.request, self.source
        if r.output:
            return Path(r.output)
        base = s.weights or s.onnx
        if base is not None and not is_shipped(base):
            return base.with_name(base.stem + suffix)
        return Path(s.stem + suffix)

    def float_onnx(
        self, output: Path, half: bool = False, outputs: str | None = None, final: bool = False
    ) -> tuple[Any, Any]:
        """The verified float ONNX every target starts from: (report, contract). From an ONNX source, the
        source itself (its report is None)."""
        if self.source.model is None:
            from edgeyolo.runtime.artifact import read_contract

            shutil.copyfile(self.source.onnx, output)
            return None, read_contract(self.source.onnx)
        from edgeyolo.export.onnx import OnnxExportOptions, export_onnx

        r = self.request
        options = OnnxExportOptions(
            imgsz=tuple(r.imgsz or self.source.imgsz or (640, 640)),
            batch=r.batch,
            dynamic_batch=r.dynamic in ("batch", "all"),
            dynamic_shape=r.dynamic in ("shape", "all"),
            opset=r.opset,
            simplify=r.simplify,
            outputs=outputs or r.outputs,
            uint8_input=r.input == "uint8",
            half=half,
            max_det=r.max_det,
            conf=r.conf,
            iou=r.iou,
            verify=r.verify,
        )
        report, contract = export_onnx(self.source.model, output, options, source_sha256=self.source.sha256)
        if not final:
            self.log(report.format())  # an intermediate step: progress, not the result
        return report, contract

    def check_int8(self, reference: Path, int8: Path) -> dict | None:
        """mAP verification when --data has a labelled val split; otherwise say it was not checked."""
        return self.check_accuracy(reference, int8, "INT8", self.request.int8_max_drop, int8_failure)

    def check_accuracy(
        self, reference: Path, model: Path, label: str, max_drop: float, failure: Callable[[], Exception]
    ) -> dict | None:
        """mAP of `model` against the float `reference` on --data's val split (allowed drop `max_drop`
        points); without a labelled val split, say that it was not checked."""
        from edgeyolo.data.formats import load_data_yaml

        r = self.request
        if not r.verify:
            return None
        data = Path(r.data) if r.data else None
        labelled = data is not None and data.suffix.lower() in (".yaml", ".yml")
        if not labelled or "val" not in load_data_yaml(data).splits:
            self.log(f"{label} accuracy not verified: --data has no labelled val split (give a data.yaml)")
            return None
        from edgeyolo.export.verify import check_int8

        result = check_int8(reference, model, data, max_drop, label=label)
        self.log(result.detail)
        if not result.ok:
            raise failure()
        return result.to_dict()

    def int8_options(self, symmetric: bool = False, layout: str | None = None):
        """INT8 settings from the request; `layout` (for --quantizer nncf) is the runtime the Q/DQ layout
        is written for (see export/int8_layout.py)."""
        from edgeyolo.export.int8_onnx import Int8Options

        r = self.request
        return Int8Options(
            layout=layout if r.quantizer == "nncf" else None,
            quantizer=r.quantizer,
            method=r.calib_method,
            symmetric=symmetric,
            exclude_se=r.int8_exclude_se,
            cache_dir=Path(r.cache_dir) if r.cache_dir else None,
        )


# -- formats -------------------------------------------------------------------------------------------
def onnx(job: Job) -> ExportResult:
    r = job.request
    if not r.int8:
        output = job.output(".onnx")
        prepare_parent(output)
        report, contract = job.float_onnx(output, half=r.half, final=True)
        return ExportResult(
            output, "onnx", contract.precision, report.to_dict(), report.format(), _verified(report)
        )
    from edgeyolo.export.int8_onnx import quantize_onnx

    output = job.output("-int8.onnx")
    prepare_parent(output)
    with temporary_folder() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        _, contract = job.float_onnx(fp32)
        _check_source_precision(job, contract)
        int8 = Path(tmp) / "model-int8.onnx"
        report = quantize_onnx(fp32, int8, job.calibration, job.int8_options(layout=r.int8_target))
        report.path = str(output)
        job.log(report.format())
        record = dataclasses.asdict(report)
        record["verification"] = job.check_int8(fp32, int8)
        _publish(int8, output)
    return ExportResult(output, "onnx", "int8", record, f"wrote {output}", record["verification"])


def openvino(job: Job) -> ExportResult:
    from edgeyolo.export.openvino import export_openvino

    r = job.request
    precision = r.precision
    output = job.output(f"-openvino-{precision}")
    _check_ir_output(output)
    prepare_parent(output, directory=True)
    with temporary_folder() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        _, contract = job.float_onnx(fp32)
        _check_source_precision(job, contract)
        qdq = None
        if r.int8 and r.int8_source == "qdq":
            from edgeyolo.export.int8_onnx import quantize_onnx

            qdq = Path(tmp) / "model-int8.onnx"
            int8_options = job.int8_options(layout="openvino")
            job.log(quantize_onnx(fp32, qdq, job.calibration, int8_options).format())
        ir = Path(tmp) / "ir"
        report = export_openvino(
            fp32, ir, contract, precision, job.calibration, r.int8_source, qdq, not r.int8_asymmetric
        )
        report.path = f"{output}/"
        job.log(report.format())
        record = dataclasses.asdict(report)
        if r.verify and precision != "int8":
            from edgeyolo.export.verify import verify_openvino

            reference = job.source.model if job.source.model is not None else fp32
            batch = r.batch if job.source.model is not None else source_batch(fp32)
            weights = "fp16" if precision == "fp16" else "fp32"  # a bf16 IR keeps fp32 weights
            result = verify_openvino(ir, reference, with_precision(contract, weights), batch)
            job.log(f"OpenVINO verification {'PASSED' if result.ok else 'FAILED'}: {result.detail}")
            record["verification"] = result.to_dict()
            if not result.ok:
                raise FailedError(f"{output.name} does not match its reference; nothing was written")
            if precision == "bf16":
                record["bf16_verification"] = _check_bf16(job, fp32, ir)
        elif precision == "int8":
            record["verification"] = job.check_int8(fp32, ir)
        else:
            record["verification"] = None
        _publish(ir, output, directory=True)
    text = f"wrote {output}/ (model.xml, model.bin)"
    return ExportResult(output, "openvino", precision, record, text, record["verification"])


def tensorrt(job: Job) -> ExportResult:
    from edgeyolo.export.tensorrt import TensorRTOptions, build_engine, check_tensorrt_request

    r = job.request
    output = job.output(f"-{r.precision}.engine")
    prepare_parent(output)
    options = TensorRTOptions(
        precision=r.precision,
        workspace_gb=4.0 if r.workspace is None else r.workspace,
        dla_core=r.dla,
        batch=r.batch,
        min_batch=r.trt_min_batch,
        max_batch=r.trt_max_batch,
        min_imgsz=r.trt_min_imgsz,
        max_imgsz=r.trt_max_imgsz,
        timing_cache=r.timing_cache,
        use_timing_cache=r.use_timing_cache,
        nms=r.outputs == "nms",
        max_det=r.max_det,
        conf=r.conf,
        iou=r.iou,
        verify=r.verify,
        device=r.gpu,
    )
    with temporary_folder() as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        # EfficientNMS_TRT takes the decoded outputs; the plugin replaces our ONNX NMS.
        _, contract = job.float_onnx(onnx_path, outputs="decoded" if options.nms else None)
        check_tensorrt_request(options, contract)
        if r.int8:
            from edgeyolo.export.int8_onnx import quantize_onnx

            qdq = Path(tmp) / "model-int8.onnx"
            int8_options = job.int8_options(symmetric=True, layout="tensorrt")  # zero-point-0 INT8 only
            job.log(quantize_onnx(onnx_path, qdq, job.calibration, int8_options).format())
            job.check_int8(onnx_path, qdq)
            onnx_path = qdq
        record = build_engine(onnx_path, output, options, rebuild=_command_line())
    text = f"wrote {output} and {output}.json"
    return ExportResult(output, "trt", r.precision, record, text, record.get("verification"))


def serve_export(job: Job) -> ExportResult:
    """Triton/DeepStream from weights: export a suitable ONNX first, then write the serving files."""
    r = job.request
    with temporary_folder() as tmp:
        onnx_path = Path(tmp) / f"{r.name or job.source.stem}.onnx"
        outputs = None
        if r.format == "deepstream" and r.outputs == "raw":
            outputs = "nms"  # nvinfer cannot decode raw anchor outputs with a stock parser
            job.log("DeepStream: exporting with --outputs nms (raw outputs need a custom decoder)")
        if r.format == "triton" and not r.dynamic:
            job = dataclasses.replace(job, request=r.replace(dynamic="batch"))  # lets Triton batch
        job.float_onnx(onnx_path, outputs=outputs)
        return serve(job.request, onnx_path, job.log)


def serve(r: ExportRequest, model_path: Path, log: Callable[[str], None]) -> ExportResult:
    """Write the serving files (Triton model folder or ensemble, DeepStream config) for an exported model."""
    if r.format == "triton":
        from edgeyolo.export import triton, triton_ensemble

        common = {"max_batch": r.max_batch, "instances": r.instances, "device": r.instance_kind}
        common["max_queue_delay_us"] = r.max_queue_delay_us
        repo = r.repo or "triton-models"
        if r.ensemble:
            path = triton_ensemble.write_triton_ensemble(
                model_path, repo, r.name or "edgeyolo", model_step=r.ensemble, overwrite=r.overwrite,
                dynamic_batching=r.dynamic_batching, max_image_pixels=r.max_image_pixels, conf=r.conf,
                iou=r.iou, max_det=r.max_det, runtime_options=r.runtime_options, **common,
            )  # fmt: skip
            text = (
                f"wrote Triton ensembles {path} (encoded images) and {path}_frames (raw frames), with "
                f"{path.name}_preprocess, _preprocess_frames, _model, _postprocess"
            )
        else:
            path = triton.write_triton_repository(model_path, repo, r.name, overwrite=r.overwrite, **common)
            text = f"wrote Triton model {path}"
        return ExportResult(path, "triton", "", {"path": str(path)}, text, None, [path])
    from edgeyolo.export.deepstream import write_deepstream_config

    out = Path(r.output or f"{Path(r.name or model_path.stem).name}-deepstream")
    files = write_deepstream_config(
        model_path,
        out,
        batch=r.batch if r.batch != 1 else None,
        precision=r.precision if r.int8 or r.half else None,
        gpu_id=r.gpu,
        conf=r.conf,
        iou=r.iou,
        topk=r.max_det,
        overwrite=r.overwrite,
    )
    text = "wrote " + ", ".join(str(f) for f in files)
    return ExportResult(out, "deepstream", "", {"files": [str(f) for f in files]}, text, None, files)


# -- shared steps --------------------------------------------------------------------------------------
def _check_bf16(job: Job, fp32: Path, ir: Path) -> dict | None:
    """A bf16 IR is checked by mAP as it will run (bf16 compute), where this CPU computes bf16 natively."""
    from edgeyolo.runtime import load_backend

    with load_backend(ir, "openvino", precision="auto") as probe:
        if probe.details.get("precision") != "bf16":
            job.log("BF16 accuracy not verified: this CPU has no native BF16 (the IR runs fp32 here)")
            return None

    def failure() -> FailedError:
        return FailedError(
            f"the IR loses more than {job.request.bf16_max_drop:g} mAP50-95 points in bf16; nothing was "
            "written. Use the fp32 IR, or raise --bf16-max-drop"
        )

    return job.check_accuracy(fp32, ir, "BF16", job.request.bf16_max_drop, failure)


def _verified(report) -> dict | None:
    if report.verified is None:
        return None
    return {"ok": bool(report.verified), "max_rel_error": report.max_rel_error}


def source_batch(onnx_path: Path) -> int:
    """The batch an exported ONNX takes: its fixed input batch, or 1 for a dynamic one."""
    from edgeyolo.export.model_io import inspect_model

    return inspect_model(onnx_path).inputs[0].shape[0] or 1


def _check_source_precision(job: Job, contract) -> None:
    """An exported ONNX is converted or quantized from float32 only (an FP16 file would be mislabelled)."""
    if job.source.model is None and contract.precision != "fp32":
        raise EdgeYoloError(
            f"{job.source.onnx} is a {contract.precision} export; convert or quantize an fp32 export "
            "(the requested precision is applied here)"
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


def _command_line() -> str:
    return "edgeyolo " + shlex.join(sys.argv[1:])
