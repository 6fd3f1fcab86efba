"""The PyTorch reference backend for `.pt` checkpoints (loaded by the runtime only when given one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgeyolo.models.checkpoint import load_checkpoint, model_from_checkpoint
from edgeyolo.models.contract import build_contract
from edgeyolo.runtime.backends.base import Backend, BackendError
from edgeyolo.runtime.precision import PrecisionError, check_request


class TorchBackend(Backend):
    """Runs the unfused checkpoint in eval mode with raw outputs, exactly as trained."""

    name = "torch"

    def __init__(
        self,
        path: str | Path,
        device: str = "cpu",
        imgsz: int | tuple[int, int] | None = None,
        half: bool = False,
        trust: bool = False,
        precision: str | None = None,
    ) -> None:
        """`precision`: None/"auto"/"fp32" (the reference), or "fp16" on a CUDA GPU (same as `half`)."""
        super().__init__(path)
        half = _half(precision, half, device)
        ckpt = load_checkpoint(path, trust=trust)  # read once: the model is built from this
        self.model = model_from_checkpoint(ckpt).eval()
        device = "cuda" if device == "gpu" else device
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(f"device {device!r} asked for, but torch sees no CUDA GPU")
        self.device = torch.device(device)
        self.dtype = torch.float16 if half else torch.float32
        self.model.to(self.device, self.dtype).eval()
        self.model.head.mode = "raw"
        size = imgsz or ckpt.imgsz
        size = (size, size) if isinstance(size, int) else tuple(size)
        self.contract = build_contract(
            self.model, size, "raw", False, "fp16" if half else "fp32", True, True, source_sha256=""
        )
        self.details = {
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "precision": "fp16" if half else "fp32",
        }

    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(inputs)).to(self.device, self.dtype)
        with torch.inference_mode():
            out = self.model(x)
        return [o.float().cpu().numpy() for o in out]

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def close(self) -> None:
        self.model = None


def _half(precision: str | None, half: bool, device: str) -> bool:
    """Whether the model runs in fp16; refuses what the torch reference path does not run."""
    check_request(precision)
    if precision in (None, "auto"):
        return half
    if precision == "bf16" or (precision == "fp16" and device == "cpu"):
        raise PrecisionError(
            f"the PyTorch path runs {'fp32 on CPU' if precision == 'fp16' else 'fp32, or fp16 on a CUDA GPU'}"
            f" (it is the reference), not {precision}: export the model and run {precision} with "
            f"{'OpenVINO' if precision == 'bf16' else 'OpenVINO or TensorRT'}"
        )
    if half and precision == "fp32":
        raise PrecisionError("half=True asks for fp16, precision='fp32' for fp32: choose one")
    return precision == "fp16"
