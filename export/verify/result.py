"""`VerifyResult`: the one shape every verification (ONNX, OpenVINO, INT8, TensorRT) reports in."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class VerifyResult:
    """Did the artifact agree with its reference, by how much, and a one-line account."""

    ok: bool
    detail: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None  # relative to the output's scale max(1, max|reference|)
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. mAP of both models for INT8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
