"""What `edgeyolo bench` measures when no --model is given: the shipped model in every format this machine
can run, made on the fly (cached) where a format needs an export.

One list, `FORMATS`, of (label, maker) in table order: the first available one is the baseline the ratios
refer to. A maker returns a `BenchModel`, or None when its format is not available here (missing library,
no GPU, no torch to export with). Add a format by adding a maker.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgeyolo.bench.harness import BenchModel
from edgeyolo.defaults import (
    SHIPPED_NAME,
    SHIPPED_TRAINING_IMGSZ,
    SHIPPED_TRAINING_SEED,
    cache_root,
    shipped_onnx,
    shipped_weights,
)
from edgeyolo.runtime.contract import sha256_file

# Names the INT8 calibration set, so cached INT8 artifacts are redone when it changes.
CALIBRATION_ID = f"shapes-seed{SHIPPED_TRAINING_SEED}-{SHIPPED_TRAINING_IMGSZ}-val100"

__all__ = ["FORMATS", "BenchContext", "cache_dir", "default_models", "importable", "native_bf16"]


def importable(module: str) -> bool:
    """Whether `module` can be found, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def cache_dir() -> Path:
    """Where on-the-fly exports are kept: `bench/` in edgeyolo's cache folder ($EDGEYOLO_CACHE)."""
    return cache_root() / "bench"


@dataclass
class BenchContext:
    """What the makers need: device ("cpu", "gpu", "jetson"), input size (None: the shipped model's)."""

    device: str
    imgsz: tuple[int, int] | None
    cache: Path = field(default_factory=cache_dir)
    notes: list[str] = field(default_factory=list)  # why a format was left out
    _onnx: Path | None = None

    @property
    def torch(self) -> bool:
        return importable("torch")

    @property
    def gpu(self) -> bool:
        return self.device in ("gpu", "jetson")

    def shipped_imgsz(self) -> tuple[int, int]:
        from edgeyolo.runtime.backends import load_backend

        with load_backend(shipped_onnx(), "onnxruntime") as b:
            return tuple(b.contract.imgsz)

    def onnx(self) -> Path | None:
        """The shipped model as FP32 ONNX at `imgsz`: the shipped file, or an export made here and cached."""
        if self._onnx is not None:
            return self._onnx
        if self.imgsz is None or tuple(self.imgsz) == self.shipped_imgsz():
            self._onnx = shipped_onnx()
            return self._onnx
        if not self.torch:
            self.notes.append(
                f"ONNX at {self.imgsz[0]},{self.imgsz[1]}: exporting needs torch "
                "(pip install 'edgeyolo[export]'); the shipped ONNX is fixed at its own size"
            )
            return None
        self._onnx = self._export_onnx()
        return self._onnx

    def _export_onnx(self) -> Path:
        from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
        from edgeyolo.models.checkpoint import load_model

        weights = shipped_weights()
        sha = sha256_file(weights)
        h, w = self.imgsz
        path = self.cache / f"{SHIPPED_NAME}-{h}x{w}-{sha[:12]}.onnx"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            export_onnx(load_model(weights), path, OnnxExportOptions(imgsz=(h, w), report_unfused=False), sha)
        return path


Maker = Callable[[BenchContext], BenchModel | None]


def _pytorch(half: bool) -> Maker:
    def make(ctx: BenchContext) -> BenchModel | None:
        if not ctx.torch:
            note = "PyTorch: torch is not installed (pip install 'edgeyolo[export]')"
            if note not in ctx.notes:
                ctx.notes.append(note)
            return None
        if not ctx.gpu:
            if half:
                return None  # FP16 PyTorch is a GPU path
            return BenchModel(shipped_weights(), "torch", "cpu", {"imgsz": ctx.imgsz}, "PyTorch FP32")
        import torch

        if not torch.cuda.is_available():
            ctx.notes.append("PyTorch CUDA: torch sees no CUDA GPU")
            return None
        label = f"PyTorch CUDA {'FP16' if half else 'FP32'}"
        return BenchModel(shipped_weights(), "torch", "cuda", {"imgsz": ctx.imgsz, "half": half}, label)

    return make


def _onnxruntime(ctx: BenchContext) -> BenchModel | None:
    path = ctx.onnx()
    if path is None:
        return None
    if not ctx.gpu:
        return BenchModel(path, "onnxruntime", "cpu", {}, "ONNX FP32 (onnxruntime)")
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        ctx.notes.append(
            "ONNX on CUDA: this onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
        )
        return None
    return BenchModel(path, "onnxruntime", "cuda", {}, "ONNX FP32 (onnxruntime CUDA)")


def _onnxruntime_trt(ctx: BenchContext) -> BenchModel | None:
    if not ctx.gpu:
        return None
    import onnxruntime as ort

    path = ctx.onnx()
    if path is None or "TensorrtExecutionProvider" not in ort.get_available_providers():
        return None
    return BenchModel(path, "onnxruntime", "tensorrt", {}, "ONNX (onnxruntime TensorRT EP)")


def _openvino(ctx: BenchContext) -> BenchModel | None:
    if ctx.gpu:
        return None  # OpenVINO's "GPU" is an Intel GPU, not what --device gpu means here
    if not importable("openvino"):
        ctx.notes.append("OpenVINO: not installed (pip install 'edgeyolo[openvino]')")
        return None
    path = ctx.onnx()
    return None if path is None else BenchModel(path, "openvino", "cpu", {}, "ONNX FP32 (OpenVINO)")


def _calibration(ctx: BenchContext) -> Path:
    """The shipped model's calibration set (data.yaml): its training distribution (synthetic shapes made with
    the seed and size of its training set) and a labelled val split that verifies INT8 accuracy, generated
    once into the cache."""
    from edgeyolo.data.synth import generate

    root = ctx.cache / f"calibration-{CALIBRATION_ID}"
    if not (root / "data.yaml").is_file():
        splits = {"train": 300, "val": 100}
        generate(root, splits, seed=SHIPPED_TRAINING_SEED, imgsz=SHIPPED_TRAINING_IMGSZ, overwrite=True)
    return root / "data.yaml"


def _verified_export(ctx: BenchContext, **request) -> Callable[[Path, Path], None]:
    """An export through `edgeyolo.export.export` (so every artifact the bench times was verified; INT8 and
    BF16 by mAP on the calibration set's val split); a failed verification leaves the format out with a
    note instead of timing an unverified file."""
    from edgeyolo.export import ExportRequest, export

    def make(src: Path, dst: Path) -> None:
        data = _calibration(ctx) if request.get("int8") or request.get("bf16") else None
        export(src, ExportRequest(output=dst, data=data, **request))

    return make


def _exported(
    ctx: BenchContext, tag: str, export: Callable[[Path, Path], None], source: Path | None = None
) -> Path | None:
    """A cached artifact derived from `source` (default: the FP32 ONNX), named after its hash, made once
    by `export`."""
    source = source or ctx.onnx()
    if source is None:
        return None
    sha = sha256_file(source)[:12]
    path = ctx.cache / f"{source.stem}-{sha}-{tag}"
    if not path.exists():
        from edgeyolo.errors import FailedError

        ctx.cache.mkdir(parents=True, exist_ok=True)
        try:
            export(source, path)
        except FailedError as exc:
            ctx.notes.append(f"{tag}: left out, it failed verification ({exc})")
            return None
    return path


def _can_quantize(ctx: BenchContext) -> bool:
    """INT8 formats are made with NNCF; say so once when it cannot be imported here."""
    try:
        import nncf  # noqa: F401
    except ImportError as exc:
        note = f"INT8 formats: nncf cannot be imported ({exc}); pip install 'edgeyolo[export]'"
        if note not in ctx.notes:
            ctx.notes.append(note)
        return False
    return True


def _onnx_int8(ctx: BenchContext) -> BenchModel | None:
    if ctx.gpu or not _can_quantize(ctx):
        return None
    path = _exported(ctx, f"{CALIBRATION_ID}-int8-onnxruntime-layout.onnx", _verified_export(ctx, int8=True))
    return None if path is None else BenchModel(path, "onnxruntime", "cpu", {}, "ONNX INT8 (onnxruntime)")


def native_bf16() -> bool:
    """Whether OpenVINO computes bf16 natively on this CPU (AVX-512 BF16 or AMX)."""
    from edgeyolo.runtime.precision import openvino_auto

    return openvino_auto("CPU") == "bf16"


def _openvino_ir(weights: str, compute: str = "fp32", uint8_input: bool = False) -> Maker:
    """An IR with `weights` (fp32, fp16, int8, or bf16: fp32 weights marked for bf16) run with its float
    parts computed in `compute`; bf16 rows only where the CPU has native BF16. `uint8_input`: exported
    with `--input uint8` (the letterboxed frame goes in as it is; made from the shipped checkpoint, so it
    needs torch)."""

    def make(ctx: BenchContext) -> BenchModel | None:
        if ctx.gpu or not importable("openvino") or (weights == "int8" and not _can_quantize(ctx)):
            return None
        if compute == "bf16" and not native_bf16():
            note = "BF16 rows: this CPU has no native BF16 (AVX-512 BF16 or AMX), so they are left out"
            if note not in ctx.notes:
                ctx.notes.append(note)
            return None
        request = dict(
            format="openvino", half=weights == "fp16", int8=weights == "int8", bf16=weights == "bf16"
        )
        verified_by_map = weights in ("int8", "bf16")
        suffix = "-sym" if weights == "int8" else ""  # symmetric activations since the NNCF preset change
        tag = (
            f"{CALIBRATION_ID}-openvino-{weights}{suffix}"
            if verified_by_map
            else f"openvino-{weights}-verified"
        )
        source = None
        if uint8_input:
            if not ctx.torch:
                ctx.notes.append(f"OpenVINO IR {weights.upper()} with uint8 input: exporting it needs torch")
                return None
            h, w = ctx.imgsz or ctx.shipped_imgsz()
            request.update(input="uint8", imgsz=(h, w))
            tag, source = f"{h}x{w}-{tag}-uint8-input", shipped_weights()
        path = _exported(ctx, tag, _verified_export(ctx, **request), source)
        if path is None:
            return None
        # What the CPU computes in is stated, never left to OpenVINO's default (bf16 on CPUs that have it).
        label = "OpenVINO IR " + ("BF16" if weights == "bf16" else weights.upper())
        if compute == "bf16" and weights != "bf16":
            label += "+BF16"
        if uint8_input:
            label += " uint8 in"
        return BenchModel(path, "openvino", "cpu", {"precision": compute}, label)

    return make


FORMATS: list[tuple[str, Maker]] = [
    ("pytorch", _pytorch(half=False)),
    ("pytorch-fp16", _pytorch(half=True)),
    ("onnxruntime", _onnxruntime),
    ("onnxruntime-tensorrt", _onnxruntime_trt),
    ("openvino", _openvino),
    ("onnx-int8", _onnx_int8),
    ("openvino-fp32", _openvino_ir("fp32")),
    ("openvino-fp16", _openvino_ir("fp16")),
    ("openvino-int8", _openvino_ir("int8")),
    ("openvino-bf16", _openvino_ir("bf16", compute="bf16")),
    ("openvino-int8-bf16", _openvino_ir("int8", compute="bf16")),
    ("openvino-int8-bf16-uint8", _openvino_ir("int8", compute="bf16", uint8_input=True)),
]


def default_models(ctx: BenchContext) -> list[BenchModel]:
    """The shipped model in each format available for `ctx.device`, in `FORMATS` order."""
    models = []
    for _, make in FORMATS:
        model = make(ctx)
        if model is not None:
            models.append(model)
    if ctx.gpu:
        ctx.notes.append(
            "TensorRT engines are not built on the fly: build one here with `edgeyolo export --format trt` "
            "and pass it with --model (engines only run on the GPU and TensorRT version they were built with)"
        )
    return models
