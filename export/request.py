"""`ExportRequest`: everything `edgeyolo.export.export()` can be asked, and the refusal of combinations
that cannot be honoured (checked before any work is done)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from edgeyolo.errors import EdgeYoloError

FORMATS = ("onnx", "openvino", "trt", "triton", "deepstream")
SERVING_FORMATS = ("triton", "deepstream")


@dataclass
class ExportRequest:
    """What to export and how. Defaults are the CLI's defaults."""

    format: str = "onnx"  # onnx | openvino | trt | triton | deepstream
    output: str | Path | None = None  # default: beside the weights, else ./<name><suffix>
    imgsz: tuple[int, int] | None = None  # (h, w); default: the checkpoint's, else 640
    batch: int = 1
    dynamic: str | None = None  # None | "batch" | "shape" | "all"
    opset: int = 17
    simplify: bool = True
    outputs: str = "raw"  # raw | decoded | nms
    input: str = "float"  # float | uint8
    half: bool = False
    int8: bool = False
    bf16: bool = False  # OpenVINO: an IR marked for bf16 execution, verified by mAP with --data
    max_det: int = 300
    conf: float = 0.25
    iou: float = 0.45
    verify: bool = True
    # loading a checkpoint
    cfg: str | None = None  # a config that replaces the checkpoint's (name or YAML path)
    trust_checkpoint: bool = False
    # INT8 calibration
    data: str | Path | None = None  # calibration images: a folder or a data.yaml (val split checks mAP)
    calib_size: int = 300
    quantizer: str = "nncf"  # nncf | ort
    calib_method: str = "minmax"  # ort only: minmax | entropy | percentile
    int8_source: str = "nncf"  # OpenVINO INT8: nncf | qdq
    int8_target: str | None = None  # ONNX INT8 Q/DQ layout: onnxruntime (default) | openvino | tensorrt
    int8_exclude_se: bool = False
    int8_asymmetric: bool = False  # OpenVINO INT8 by NNCF: asymmetric activations (preset MIXED)
    int8_max_drop: float = 1.0  # mAP50-95 points
    bf16_max_drop: float = 0.3  # mAP50-95 points
    cache_dir: str | Path | None = None
    # TensorRT
    workspace: float | None = None  # GB (default 4)
    dla: int | None = None
    timing_cache: str | Path | None = None
    use_timing_cache: bool = True
    gpu: int = 0
    trt_min_batch: int | None = None
    trt_max_batch: int | None = None
    trt_min_imgsz: tuple[int, int] | None = None
    trt_max_imgsz: tuple[int, int] | None = None
    # Triton / DeepStream
    repo: str | Path | None = None
    name: str | None = None
    max_batch: int = 8
    instances: int = 1
    instance_kind: str = "auto"
    overwrite: bool = False
    ensemble: str | None = None  # Triton: None, or "native" / "python" (images in, detections out)
    dynamic_batching: bool = True  # Triton ensemble: every step that can batch
    max_queue_delay_us: int = 100  # Triton: the dynamic batcher's queue delay
    max_image_pixels: int = 40_000_000  # Triton ensemble: larger images and frames are refused
    runtime_options: dict | None = None  # Triton ensemble, python model step: its runtime backend's options

    @property
    def precision(self) -> str:
        return "int8" if self.int8 else "fp16" if self.half else "bf16" if self.bf16 else "fp32"

    def check(self, from_artifact: bool = False) -> None:
        """Refuse impossible combinations before any work is done (raises `EdgeYoloError`)."""
        fmt = self.format
        if fmt not in FORMATS:
            raise EdgeYoloError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        if fmt != "trt":
            for flag, value in (
                ("--dla", self.dla),
                ("--workspace", self.workspace),
                ("--timing-cache", self.timing_cache),
                ("--no-timing-cache", None if self.use_timing_cache else True),
                ("--trt-min-batch", self.trt_min_batch),
                ("--trt-max-batch", self.trt_max_batch),
                ("--trt-min-imgsz", self.trt_min_imgsz),
                ("--trt-max-imgsz", self.trt_max_imgsz),
            ):
                if value is not None:
                    raise EdgeYoloError(f"{flag} applies to TensorRT engines only (--format trt)")
        if self.ensemble and fmt != "triton":
            raise EdgeYoloError("--ensemble is for --format triton")
        self._refuse_unused_ensemble_options()
        if self.int8 and self.half:
            raise EdgeYoloError(
                "choose one precision: --fp16 or --int8 (TensorRT INT8 engines use FP16 fallback anyway)"
            )
        if self.bf16 and (self.int8 or self.half):
            raise EdgeYoloError(
                "choose one precision: --bf16, --fp16 or --int8 (an INT8 IR runs its float parts in bf16 "
                "with --precision bf16 or auto at run time)"
            )
        if self.bf16 and fmt != "openvino":
            raise EdgeYoloError(
                "--bf16 marks an OpenVINO IR for bf16 execution (--format openvino); any float model runs "
                "in bf16 on OpenVINO with `--backend openvino --precision bf16`"
            )
        if self.int8 and fmt in SERVING_FORMATS:
            raise EdgeYoloError(
                f"--format {fmt} serves an exported model: export it first (e.g. --format onnx --int8), "
                f"then pass it with --model"
            )
        if from_artifact:
            self._check_artifact_source()
        self._refuse_unused_int8_options()
        if not (self.int8 or self.bf16) and self.data:
            raise EdgeYoloError(
                "--data is for INT8 calibration and the mAP check of --int8 / --bf16: add one, or leave "
                "--data out"
            )

    def _check_artifact_source(self) -> None:
        """An exported model as the source fixes its own graph: graph options would be ignored."""
        if self.format in SERVING_FORMATS:
            return
        if self.format == "trt" or (self.format == "onnx" and not self.int8):
            raise EdgeYoloError(
                f"--format {self.format} exports from a checkpoint or a model: give --weights or --cfg "
                "(an exported ONNX is a source only for --int8, --format openvino, triton and deepstream)"
            )
        defaults = ExportRequest()
        changed = [
            "--" + f.replace("_", "-")
            for f in ("imgsz", "batch", "dynamic", "opset", "simplify", "outputs", "input", "cfg")
            if getattr(self, f) != getattr(defaults, f)
        ]
        if changed:
            raise EdgeYoloError(
                f"{', '.join(changed)} shape the ONNX export, but the source is already an exported ONNX "
                "(its graph is used as it is); export from the checkpoint instead"
            )

    def _refuse_unused_ensemble_options(self) -> None:
        """The Triton serving options are errors where they would be ignored."""
        defaults = ExportRequest()
        ensemble = "a Triton ensemble (--format triton --ensemble)"
        for name, applies, where in (
            ("dynamic_batching", self.ensemble, ensemble),
            ("max_image_pixels", self.ensemble, ensemble),
            ("runtime_options", self.ensemble == "python", "the python model step (--ensemble python)"),
            ("max_queue_delay_us", self.format == "triton", "--format triton"),
        ):
            if getattr(self, name) != getattr(defaults, name) and not applies:
                raise EdgeYoloError(f"{name} applies to {where}")

    def _refuse_unused_int8_options(self) -> None:
        """An option the chosen path would ignore is an error, not a silent no-op."""
        targets = ("onnxruntime", "openvino", "tensorrt")  # export/int8_layout.py LAYOUTS (kept light here)
        if self.int8_target is not None and self.int8_target not in targets:
            raise EdgeYoloError(
                f"--int8-target must be one of {', '.join(targets)}, got {self.int8_target!r}"
            )
        defaults = ExportRequest()
        given = {
            "--quantizer": self.quantizer != defaults.quantizer,
            "--calib-method": self.calib_method != defaults.calib_method,
            "--int8-source": self.int8_source != defaults.int8_source,
            "--int8-target": self.int8_target is not None,
            "--int8-exclude-se": self.int8_exclude_se,
            "--int8-asymmetric": self.int8_asymmetric,
            "--cache-dir": self.cache_dir is not None,
        }
        nncf_ir = self.format == "openvino" and self.int8_source == "nncf"
        applies = {
            "--quantizer": self.int8 and not nncf_ir,
            "--calib-method": self.int8 and not nncf_ir and self.quantizer == "ort",
            "--int8-source": self.int8 and self.format == "openvino",
            "--int8-target": self.int8 and self.format == "onnx" and self.quantizer == "nncf",
            "--int8-exclude-se": self.int8 and not nncf_ir,
            "--int8-asymmetric": self.int8 and nncf_ir,
            "--cache-dir": self.int8 and not nncf_ir,
        }
        for flag, set_ in given.items():
            if set_ and not applies[flag]:
                why = "needs --int8" if not self.int8 else "does not apply to this INT8 path"
                if flag == "--calib-method" and self.int8 and not nncf_ir:
                    why = "is a setting of --quantizer ort"
                elif flag == "--int8-target" and self.int8 and self.format == "onnx":
                    why = "places NNCF's Q/DQ pairs (--quantizer nncf); --quantizer ort has its own layout"
                elif flag == "--int8-target" and self.int8:
                    why = f"is for --format onnx; --format {self.format} writes the layout it needs itself"
                elif flag == "--int8-asymmetric":
                    why = "applies to OpenVINO INT8 by NNCF (--format openvino --int8)"
                elif nncf_ir and flag != "--int8-source":
                    why = "applies to the QDQ route (--int8-source qdq), not NNCF on the IR"
                raise EdgeYoloError(f"{flag} {why}")

    def replace(self, **changes) -> ExportRequest:
        return dataclasses.replace(self, **changes)
