"""`export(source, request)`: the one path from a model to a verified deployment artifact, for every target.

Every artifact is built and verified in a temporary folder and only then moved into place atomically, so a
failed or interrupted export leaves nothing behind. The CLI, the bench and the Docker images call this.

>>> from edgeyolo.export import ExportRequest, export
>>> result = export("best.pt", ExportRequest(format="openvino", half=True))  # doctest: +SKIP
>>> result.path, result.verification["ok"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeyolo.errors import EdgeYoloError, FailedError, require
from edgeyolo.export.request import SERVING_FORMATS, ExportRequest
from edgeyolo.runtime.artifact import ArtifactKind, artifact_kind

if TYPE_CHECKING:
    from edgeyolo.models.yolo import DetectionModel
    from edgeyolo.runtime.contract import Contract

Log = Callable[[str], None]


@dataclass
class ExportResult:
    """What an export wrote: the artifact, its precision, the machine-readable report and a summary."""

    path: Path
    format: str
    precision: str
    record: dict[str, Any]  # the JSON report (`edgeyolo export --json`)
    text: str  # the human summary
    verification: dict[str, Any] | None = None  # None: not verified (say why in `text`)
    files: list[Path] = field(default_factory=list)


@dataclass
class ResolvedSource:
    """A resolved export source: a torch model (from a checkpoint or in memory) or an exported ONNX."""

    model: DetectionModel | None = None
    onnx: Path | None = None  # an exported ONNX used as it is
    artifact: Path | None = None  # any exported model, for the serving formats
    weights: Path | None = None
    imgsz: tuple[int, int] | None = None  # the checkpoint's own size
    sha256: str = ""
    stem: str = "model"


def export(
    source: str | Path | DetectionModel,
    request: ExportRequest | None = None,
    log: Log | None = None,
    warn: Log | None = None,
    **changes: Any,
) -> ExportResult:
    """Export `source` (a checkpoint path, a `DetectionModel`, or an exported ONNX / model for --int8,
    OpenVINO and the serving formats) as `request` asks (keyword `changes` override its fields).
    Progress goes to `log`, warnings to `warn` (default: `warnings.warn`). Raises `EdgeYoloError` for a
    refused request, `FailedError` when verification fails (then nothing is written)."""
    request = (request or ExportRequest()).replace(**changes)
    log = log or (lambda message: None)
    request.check(from_artifact=_is_artifact(source))  # refusals come before any loading
    src = _resolve(source, request)
    calibration = None
    if request.int8:
        from edgeyolo.export.calibration import find_calibration_images

        calibration = find_calibration_images(request.data, request.calib_size, warn or _warn)
    if request.format == "trt":
        from edgeyolo.export.tensorrt import require_tensorrt

        require_tensorrt()  # before minutes of export and calibration
    from edgeyolo.export import flows

    if src.artifact is not None and request.format in SERVING_FORMATS:
        return flows.serve(request, src.artifact, log)
    step = {
        "onnx": flows.onnx,
        "openvino": flows.openvino,
        "trt": flows.tensorrt,
        "triton": flows.serve_export,
        "deepstream": flows.serve_export,
    }[request.format]
    return step(flows.Job(request, src, calibration, log))


def _resolve(source: Any, request: ExportRequest) -> ResolvedSource:
    """Load a checkpoint once (model and its image size), or take a model or an exported file as it is."""
    from edgeyolo.export.metadata import sha256_file, sha256_text

    if isinstance(source, (str, Path)):
        path = Path(source)
        kind = artifact_kind(path)  # exists: checked by _is_artifact
        if kind is ArtifactKind.CHECKPOINT:
            require("torch", "export", "exporting a checkpoint")
            from edgeyolo.config import load_config
            from edgeyolo.models.checkpoint import load_model_and_checkpoint

            cfg_text = load_config(request.cfg).text if request.cfg else None
            model, ckpt = load_model_and_checkpoint(path, trust=request.trust_checkpoint, cfg_text=cfg_text)
            return ResolvedSource(
                model=model,
                weights=path,
                imgsz=(ckpt.imgsz, ckpt.imgsz),
                sha256=sha256_file(path),
                stem=path.stem,
            )
        onnx = path if kind is ArtifactKind.ONNX else None
        if request.format not in SERVING_FORMATS and onnx is None:
            raise EdgeYoloError(
                f"{path} is {kind.describe()}; export from a checkpoint (.pt), a model, or an ONNX file"
            )
        return ResolvedSource(
            onnx=onnx, artifact=path, sha256=sha256_file(path) if onnx else "", stem=path.stem
        )
    if request.cfg or request.trust_checkpoint:
        raise EdgeYoloError("cfg and trust_checkpoint apply when the source is a checkpoint path")
    if not hasattr(source, "cfg") or not hasattr(source, "head"):
        raise EdgeYoloError(
            f"cannot export a {type(source).__name__}: give a checkpoint path, an edgeyolo DetectionModel "
            "or an exported ONNX"
        )
    import copy

    # a copy on the CPU in float32 and eval mode: the caller's model (training, on a GPU, half) is untouched
    model = copy.deepcopy(source).cpu().float().eval()
    return ResolvedSource(model=model, sha256=sha256_text(source.cfg.text), stem=source.cfg.name)


def _is_artifact(source: Any) -> bool:
    """Whether `source` is an exported model (not a checkpoint or a model); a missing path is refused."""
    if not isinstance(source, (str, Path)):
        return False
    if not Path(source).exists():
        raise EdgeYoloError(f"{source} does not exist")
    return artifact_kind(source) is not ArtifactKind.CHECKPOINT


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def with_precision(contract: Contract, precision: str) -> Contract:
    return dataclasses.replace(contract, precision=precision)


def int8_failure() -> FailedError:
    return FailedError(
        "the INT8 model loses too much accuracy; nothing was written. Try more/representative "
        "--data, another --calib-method, --int8-exclude-se, or raise --int8-max-drop"
    )


def temporary_folder():
    return tempfile.TemporaryDirectory(prefix="edgeyolo-export-")
