"""The PyTorch reference backend for `.pt` checkpoints (loaded by the runtime only when given one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgeyolo.models.checkpoint import load_checkpoint, model_from_checkpoint
from edgeyolo.models.contract import build_contract
from edgeyolo.runtime.backends.base import Backend, BackendError


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
    ) -> None:
        super().__init__(path)
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
        self.details = {"device": str(self.device), "dtype": str(self.dtype).replace("torch.", "")}

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
