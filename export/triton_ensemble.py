"""A Triton ensemble that takes images and returns detections: what a client without edgeyolo calls.

``write_triton_ensemble`` lays out six models in one repository::

    <name>/                   platform ensemble: IMAGE (encoded JPEG/PNG) → DETECTIONS, NUM_DETECTIONS
    <name>_frames/            platform ensemble: FRAME (raw uint8 BGR frames) → DETECTIONS, NUM_DETECTIONS
    <name>_preprocess/        Python backend: decode JPEG/PNG, refuse oversize, the runtime's letterbox
    <name>_preprocess_frames/ Python backend: check raw frames, the runtime's letterbox
    <name>_model/             the exported model: Triton's onnxruntime / TensorRT / OpenVINO backend
                              (`native`), or a Python-backend model running the same file with
                              `edgeyolo.runtime` (`python`)
    <name>_postprocess/       Python backend: the runtime's decode, NMS and scale-back to original pixels

Both ensembles share the model and postprocess steps, so the dynamic batcher merges their requests.

Client contract (batching models: the first dimension of every tensor is the batch):

- ``<name>``: input ``IMAGE`` TYPE_UINT8 dims [-1] (the bytes of one encoded JPEG/PNG per batch item;
  a batch of several images is zero-padded to the longest).
- ``<name>_frames``: input ``FRAME`` TYPE_UINT8 dims [-1, -1, 3] (one raw frame per batch item, H x W x 3,
  BGR channel order as OpenCV reads it, like the runtime's `Detector`; the frames of one request share one
  size, frames of different sizes go in separate requests, which the server still batches together).
- Outputs of both: ``DETECTIONS`` TYPE_FP32 [-1, 6] (x1, y1, x2, y2, score, class in the original image's
  pixels, zero-padded to the request's largest count) and ``NUM_DETECTIONS`` TYPE_INT32 [1]; optional
  request parameters ``conf`` and ``iou``. Class names are the ensembles' ``names`` parameter.

The Python models' ``model.py`` imports `edgeyolo.serve.triton_models`, so the Python environment Triton's
stub runs in needs ``pip install edgeyolo``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from edgeyolo.atomic import atomic_output
from edgeyolo.export.model_io import ModelInfo, TensorSpec, inspect_model
from edgeyolo.export.triton import (
    INSTANCE_KINDS,
    LAYOUT,
    MODEL_NAME_PATTERN,
    TritonError,
    parameter_lines,
    quote,
    tensor_lines,
    triton_config,
)
from edgeyolo.runtime.contract import METADATA_KEY

MODEL_STEPS = ("native", "python")
ROLES = ("preprocess", "preprocess_frames", "model", "postprocess")
IMAGE_INPUT = TensorSpec("IMAGE", "uint8", (None, None))
FRAME_INPUT = TensorSpec("FRAME", "uint8", (None, None, None, 3))
CLIENT_OUTPUTS = (
    TensorSpec("DETECTIONS", "float32", (None, None, 6)),
    TensorSpec("NUM_DETECTIONS", "int32", (None, 1)),
)
DEFAULT_MAX_PIXELS = 40_000_000  # kept equal to edgeyolo.serve.triton_models.DEFAULT_MAX_PIXELS
_MODEL_PY = '''"""The {role} step of the `{name}` ensemble, written by edgeyolo (the code is edgeyolo's)."""

from edgeyolo.serve.triton_models import {cls} as TritonPythonModel

__all__ = ["TritonPythonModel"]
'''


def write_triton_ensemble(
    model_path: str | Path,
    repo: str | Path,
    name: str = "edgeyolo",
    *,
    model_step: str = "native",
    max_batch: int = 8,
    instances: int = 1,
    device: str = "auto",
    dynamic_batching: bool = True,
    max_queue_delay_us: int = 100,
    max_image_pixels: int = DEFAULT_MAX_PIXELS,
    conf: float = 0.25,
    iou: float = 0.45,
    max_det: int = 300,
    runtime_options: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the ensembles `<repo>/<name>` (encoded images) and `<repo>/<name>_frames` (raw frames) and
    their steps; return the `<name>` ensemble's directory.

    `model_step` "native" gives the model to Triton's own backend for its kind (needs a dynamic-batch
    export); "python" runs it with `edgeyolo.runtime` inside the Python backend (any batch).
    `dynamic_batching` applies to every step that can batch; `runtime_options` are keyword arguments of
    the python model step's `edgeyolo.runtime` backend (e.g. ``{"threads": 2, "spinning": False}`` for
    onnxruntime). Refuses existing folders unless `overwrite`.
    """
    if model_step not in MODEL_STEPS:
        raise TritonError(f"model_step must be one of {', '.join(MODEL_STEPS)}, got {model_step!r}")
    if not MODEL_NAME_PATTERN.match(name):
        raise TritonError(
            f"model name {name!r} must be letters, digits, '_', '.', '-' (not starting with '.')"
        )
    if max_batch < 1:
        raise TritonError(f"max_batch must be >= 1, got {max_batch}")
    if max_image_pixels < 1:
        raise TritonError(f"max_image_pixels must be >= 1, got {max_image_pixels}")
    for key, value in (("conf", conf), ("iou", iou)):
        if not 0.0 <= value <= 1.0:
            raise TritonError(f"{key} must be in [0, 1], got {value}")
    info = inspect_model(model_path)
    if len(info.inputs) != 1:
        raise TritonError(f"{model_path} has {len(info.inputs)} inputs; an edgeyolo model has one")
    if model_step == "native" and not info.contract.dynamic_batch:
        raise TritonError(
            f"{model_path} has a fixed batch; Triton's {info.kind} backend needs a dynamic-batch export "
            "for the ensemble (export with --dynamic batch), or use the python model step"
        )
    repo = Path(repo)
    steps = {role: f"{name}_{role}" for role in ROLES}
    targets = [repo / n for n in (*steps.values(), name, f"{name}_frames")]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise TritonError(f"{', '.join(existing)} exist(s); pass overwrite=True (--overwrite) to replace")

    model_in = info.inputs[0]
    geometry = TensorSpec("LETTERBOX", "float64", (None, 7))
    batching = _batching(dynamic_batching, max_queue_delay_us)
    contract = {METADATA_KEY: info.contract.to_json()}
    names = {"names": json.dumps(list(info.contract.names))}
    output_names = json.dumps([t.name for t in info.outputs])
    batched_in = TensorSpec(model_in.name, model_in.dtype, (None, *model_in.shape[1:]))
    batched_out = tuple(TensorSpec(t.name, t.dtype, (None, *t.shape[1:])) for t in info.outputs)

    pre_params = {**contract, "input_name": model_in.name, "input_dtype": model_in.dtype,
                  "max_image_pixels": str(max_image_pixels)}  # fmt: skip
    pre = _python_config(
        steps["preprocess"],
        max_batch,
        (IMAGE_INPUT,),
        (batched_in, geometry),
        batching,
        instances,
        pre_params,
    )
    pre_frames = _python_config(
        steps["preprocess_frames"], max_batch, (FRAME_INPUT,), (batched_in, geometry), batching, instances,
        pre_params,
    )  # fmt: skip
    post = _python_config(
        steps["postprocess"], max_batch, (*batched_out, geometry),
        CLIENT_OUTPUTS, batching, instances,
        {**contract, **names, "output_names": output_names, "conf": str(conf), "iou": str(iou),
         "max_det": str(max_det)},
    )  # fmt: skip
    _write_model(
        repo / steps["preprocess"], pre, _MODEL_PY.format(role="preprocess", name=name, cls="Preprocess")
    )
    _write_model(
        repo / steps["preprocess_frames"],
        pre_frames,
        _MODEL_PY.format(role="frames preprocess", name=f"{name}_frames", cls="PreprocessFrames"),
    )
    if model_step == "python":
        files = tuple(zip(info.files, LAYOUT[info.kind][2], strict=True))
        model_cfg = _python_config(
            steps["model"], max_batch, (batched_in,), batched_out, batching, instances,
            {**contract, "input_name": model_in.name, "output_names": output_names,
             "model_file": files[0][1], "runtime_options": json.dumps(runtime_options or {})},
        )  # fmt: skip
        code = _MODEL_PY.format(role="model", name=name, cls="ModelStep")
        _write_model(repo / steps["model"], model_cfg, code, files)
    else:
        model_cfg = triton_config(info, steps["model"], max_batch, instances, device, max_queue_delay_us)
        files = tuple(zip(info.files, LAYOUT[info.kind][2], strict=True))
        _write_model(repo / steps["model"], model_cfg, None, files)
    _write_model(
        repo / steps["postprocess"], post, _MODEL_PY.format(role="postprocess", name=name, cls="Postprocess")
    )
    params = {**contract, **names}
    _write_model(repo / name, _ensemble_config(name, IMAGE_INPUT, steps, info, max_batch, params), None)
    frames = _ensemble_config(f"{name}_frames", FRAME_INPUT, steps, info, max_batch, params)
    _write_model(repo / f"{name}_frames", frames, None)
    return repo / name


def _batching(enabled: bool, delay_us: int) -> list[str]:
    if delay_us < 0:
        raise TritonError(f"max_queue_delay_us must be >= 0, got {delay_us}")
    return ["dynamic_batching {", f"  max_queue_delay_microseconds: {delay_us}", "}"] if enabled else []


def _python_config(
    name: str,
    max_batch: int,
    inputs: tuple[TensorSpec, ...],
    outputs: tuple[TensorSpec, ...],
    batching: list[str],
    instances: int,
    params: dict[str, str],
) -> str:
    if instances < 1:
        raise TritonError(f"instances must be >= 1, got {instances}")
    lines = [f"name: {quote(name)}", 'backend: "python"', f"max_batch_size: {max_batch}"]
    lines += tensor_lines("input", inputs, True) + tensor_lines("output", outputs, True) + batching
    lines += [
        "instance_group [",
        "  {",
        f"    count: {instances}",
        f"    kind: {INSTANCE_KINDS['cpu']}",
        "  }",
        "]",
    ]
    return "\n".join(lines + parameter_lines(params)) + "\n"


def _ensemble_config(
    name: str,
    client_input: TensorSpec,
    steps: dict[str, str],
    info: ModelInfo,
    max_batch: int,
    params: dict[str, str],
) -> str:
    """An ensemble taking `client_input` (IMAGE: encoded images, FRAME: raw frames) to the client outputs."""
    model_in = info.inputs[0].name
    pre = steps["preprocess"] if client_input.name == IMAGE_INPUT.name else steps["preprocess_frames"]
    lines = [
        f"name: {quote(name)}",
        'platform: "ensemble"',
        f"max_batch_size: {max_batch}",
        *tensor_lines("input", (client_input,), True),
        *tensor_lines("output", CLIENT_OUTPUTS, True),
        "ensemble_scheduling {",
        "  step [",
    ]
    outputs = [t.name for t in info.outputs]
    plan = [
        (pre, {client_input.name: client_input.name}, {model_in: "_input", "LETTERBOX": "_letterbox"}),
        (steps["model"], {model_in: "_input"}, {o: f"_out_{o}" for o in outputs}),
        (
            steps["postprocess"],
            {**{o: f"_out_{o}" for o in outputs}, "LETTERBOX": "_letterbox"},
            {"DETECTIONS": "DETECTIONS", "NUM_DETECTIONS": "NUM_DETECTIONS"},
        ),
    ]
    for i, (model, inputs, outs) in enumerate(plan):
        lines += ["    {", f"      model_name: {quote(model)}", "      model_version: -1"]
        lines += [f"      input_map {{ key: {quote(k)} value: {quote(v)} }}" for k, v in inputs.items()]
        lines += [f"      output_map {{ key: {quote(k)} value: {quote(v)} }}" for k, v in outs.items()]
        lines.append("    }," if i < len(plan) - 1 else "    }")
    lines += ["  ]", "}"]
    return "\n".join(lines + parameter_lines(params)) + "\n"


def _write_model(
    target: Path, config: str, code: str | None, files: tuple[tuple[Path, str], ...] = ()
) -> None:
    with atomic_output(target, directory=True) as tmp:
        (tmp / "config.pbtxt").write_text(config)
        version = tmp / "1"
        version.mkdir()
        if code is not None:
            (version / "model.py").write_text(code)
        for src, dst in files:
            shutil.copyfile(src, version / dst)
