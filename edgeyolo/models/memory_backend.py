"""`InMemoryTorchBackend`: a live `DetectionModel` behind the runtime's `Backend` interface (for validation
during training), so it is scored through exactly the runtime's pre- and post-processing."""

from __future__ import annotations

import threading

import numpy as np
import torch

from edgeyolo.models.contract import build_contract
from edgeyolo.models.yolo import DetectionModel
from edgeyolo.runtime.backends.base import Backend

_PRECISION = {torch.float16: "fp16", torch.bfloat16: "bf16"}


class InMemoryTorchBackend(Backend):
    """Runs `model` in eval mode with raw outputs under `torch.inference_mode`, on the model's own device
    and dtype. Each call restores the train/eval flag of every submodule and the head's output mode."""

    name = "torch-memory"

    def __init__(self, model: DetectionModel, imgsz: int | tuple[int, int]) -> None:
        super().__init__("<in-memory>")
        self.model = model
        param = next(model.parameters(), None)
        self.device = param.device if param is not None else torch.device("cpu")
        floating = param is not None and param.is_floating_point()
        self.dtype = param.dtype if floating else torch.float32
        size = (imgsz, imgsz) if isinstance(imgsz, int) else (int(imgsz[0]), int(imgsz[1]))
        self.contract = build_contract(
            model, size, "raw", False, _PRECISION.get(self.dtype, "fp32"), True, True, source_sha256=""
        )
        self.details = {"device": str(self.device), "dtype": str(self.dtype).replace("torch.", "")}
        self._lock = threading.Lock()  # train/eval flags are shared state: one call at a time

    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(inputs)).to(self.device, self.dtype)
        with self._lock:
            flags = [(m, m.training) for m in self.model.modules()]
            head = self.model.head
            mode = head.mode
            try:
                self.model.eval()
                head.mode = "raw"
                with torch.inference_mode():
                    out = self.model(x)
            finally:
                head.mode = mode
                for m, training in flags:
                    m.training = training
        return [o.float().cpu().numpy() for o in out]

    def close(self) -> None:
        """Drop the reference to the model (the model itself is untouched)."""
        self.model = None
