"""The precision a backend computes a model's float parts in: a choice the user makes, checked against what
the backend and the hardware can run, and reported as what actually ran.

Requests: "fp32" (exact), "bf16", "fp16", or "auto" (the fastest precision the device runs natively: bf16 on
CPUs with AVX-512 BF16 or AMX, else fp32). None means "as the model says": fp32 compute, except an IR that
was exported for bf16 execution. INT8 models keep their INT8 parts; the precision applies to the rest.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection

from edgeyolo.runtime.errors import EdgeYoloError

COMPUTE = ("fp32", "bf16", "fp16")
REQUESTS = (*COMPUTE, "auto")

# OpenVINO's names (`INFERENCE_PRECISION_HINT`, `OPTIMIZATION_CAPABILITIES`) for each compute precision.
OPENVINO_HINT = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
OPENVINO_CAPABILITY = {"fp32": "FP32", "bf16": "BF16", "fp16": "FP16"}
_FROM_OPENVINO = {"f32": "fp32", "float32": "fp32", "bf16": "bf16", "bfloat16": "bf16", "f16": "fp16"}
_NATIVE_HARDWARE = {"bf16": "AVX-512 BF16 or AMX", "fp16": "AVX-512 FP16/AMX-FP16 or ARM FP16"}


class PrecisionError(EdgeYoloError, ValueError):
    """A precision that this backend or this hardware cannot run (exit code 2)."""


def check_request(precision: str | None) -> None:
    """Refuse an unknown precision name."""
    if precision is not None and precision not in REQUESTS:
        raise PrecisionError(f"precision must be one of {', '.join(REQUESTS)}, got {precision!r}")


def openvino_precision(
    requested: str | None, model_precision: str, capabilities: Collection[str], device: str = "CPU"
) -> str:
    """The compute precision OpenVINO runs for `requested` on a device with `capabilities` (its
    OPTIMIZATION_CAPABILITIES). Refuses a precision the device has no native support for; a bf16-marked
    IR on a device without BF16 runs fp32 with a warning."""
    check_request(requested)
    native = set(capabilities)
    if requested is None:
        if model_precision != "bf16":
            return "fp32"  # exact, whatever OpenVINO's own default on this CPU would be
        if OPENVINO_CAPABILITY["bf16"] in native:
            return "bf16"
        warnings.warn(
            f"this IR was exported for bf16 execution, but {device} has no native BF16 "
            f"({_NATIVE_HARDWARE['bf16']}); running it in fp32",
            stacklevel=3,
        )
        return "fp32"
    if requested == "auto":
        for candidate in ("bf16", "fp16") if device.upper().startswith("CPU") else ("fp16", "bf16"):
            if OPENVINO_CAPABILITY[candidate] in native:
                return candidate
        return "fp32"
    if requested != "fp32" and OPENVINO_CAPABILITY[requested] not in native:
        has = ", ".join(sorted(c for c in native if c in OPENVINO_CAPABILITY.values())) or "none"
        raise PrecisionError(
            f"{requested} needs native {requested.upper()} compute ({_NATIVE_HARDWARE[requested]}) and "
            f"OpenVINO's {device} has none (it reports {has}); --precision auto runs "
            f"{openvino_precision('auto', model_precision, native, device)} here"
        )
    return requested


def openvino_auto(device: str = "CPU") -> str:
    """What `auto` computes in on this machine's OpenVINO `device` (needs OpenVINO)."""
    from edgeyolo.runtime.backends.openvino_core import device_capabilities

    return openvino_precision("auto", "fp32", device_capabilities(device), device)


def from_openvino(hint: object) -> str:
    """Our name for an OpenVINO element type or hint value read back from a compiled model."""
    text = hint.to_string() if hasattr(hint, "to_string") else str(hint)
    text = text.removeprefix("<Type: '").removesuffix("'>")
    return _FROM_OPENVINO.get(text, text)


def stored_precision(requested: str | None, model_precision: str, backend: str, alternative: str) -> str:
    """For backends that run a model in the precision it was exported in (onnxruntime, TensorRT): the
    precision that runs, or a refusal saying what to do instead (`alternative`)."""
    check_request(requested)
    stored = "fp16" if model_precision == "fp16" else "fp32"  # int8 models keep float parts in fp32
    if backend == "tensorrt" and model_precision in ("fp16", "int8"):
        stored = "fp16"  # TensorRT builds INT8 engines with FP16 fallback
    if requested in (None, "auto", stored):
        return stored
    raise PrecisionError(
        f"{backend} runs a model in the precision it was exported in ({model_precision}), so it cannot run "
        f"{requested}: {alternative}"
    )
