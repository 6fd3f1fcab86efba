"""The `edgeyolo` metadata record: the contract between an exported model and the runtime.

Every exported artifact carries one JSON record under the key ``edgeyolo`` (ONNX ``metadata_props``,
OpenVINO ``rt_info``, TensorRT sidecar). The runtime needs nothing else to run the model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeyolo.runtime.errors import EdgeYoloError

SCHEMA_VERSION = 1
METADATA_KEY = "edgeyolo"

OUTPUT_MODES = ("raw", "decoded", "nms")
INPUT_FORMATS = ("float32-nchw-rgb", "uint8-nhwc-bgr")
PRECISIONS = ("fp32", "fp16", "int8", "bf16")
# Anchor heads by box decoding: YOLOv5's ((2*sigmoid)^2 x anchor) and YOLOv3/YOLOv4's (exp x anchor).
HEADS = ("yolov5-anchor", "yolov3-anchor")


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (provenance of models and engines)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ContractError(EdgeYoloError, ValueError):
    """The metadata record is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Letterbox:
    """How frames are letterboxed before they reach the model."""

    pad_value: int = 114
    centered: bool = True


@dataclass(frozen=True)
class Contract:
    """Everything the runtime reads from a model's metadata."""

    names: tuple[str, ...]
    strides: tuple[int, ...]
    anchors: tuple[tuple[float, ...], ...]  # per level, flat (w0, h0, w1, h1, ...) in input pixels
    imgsz: tuple[int, int]  # (h, w)
    outputs: str = "raw"
    input: str = "float32-nchw-rgb"
    head: str = "yolov5-anchor"
    precision: str = "fp32"
    letterbox: Letterbox = field(default_factory=Letterbox)
    dynamic_batch: bool = False
    dynamic_shape: bool = False
    max_det: int = 300
    nms_conf: float | None = None  # thresholds baked into an `nms` graph
    nms_iou: float | None = None
    source_sha256: str = ""
    tool_version: str = ""
    schema: int = SCHEMA_VERSION

    @property
    def nc(self) -> int:
        return len(self.names)

    @property
    def na(self) -> int:
        """Anchors per level."""
        return len(self.anchors[0]) // 2

    def __post_init__(self) -> None:
        if self.outputs not in OUTPUT_MODES:
            raise ContractError(f"outputs must be one of {OUTPUT_MODES}, got {self.outputs!r}")
        if self.input not in INPUT_FORMATS:
            raise ContractError(f"input must be one of {INPUT_FORMATS}, got {self.input!r}")
        if self.head not in HEADS:
            raise ContractError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.precision not in PRECISIONS:
            raise ContractError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not self.names:
            raise ContractError("names is empty")
        if len(self.strides) != len(self.anchors):
            raise ContractError(f"{len(self.strides)} strides but {len(self.anchors)} anchor levels")
        if any(len(a) != len(self.anchors[0]) or len(a) % 2 for a in self.anchors):
            raise ContractError("every anchor level must hold the same even number of values")
        if len(self.imgsz) != 2 or min(self.imgsz) <= 0:
            raise ContractError(f"imgsz must be (h, w) > 0, got {self.imgsz}")

    def to_json(self) -> str:
        data = asdict(self)
        data["nc"] = self.nc
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Contract:
        try:
            data: dict[str, Any] = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"the {METADATA_KEY!r} metadata record is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contract:
        if not isinstance(data, dict):
            raise ContractError("the metadata record must be a JSON object")
        schema = data.get("schema", SCHEMA_VERSION)
        if schema > SCHEMA_VERSION:
            raise ContractError(
                f"model metadata schema {schema} is newer than this runtime understands ({SCHEMA_VERSION}); "
                "upgrade edgeyolo"
            )
        missing = [k for k in ("names", "strides", "anchors", "imgsz") if k not in data]
        if missing:
            raise ContractError(f"metadata record lacks {', '.join(missing)}")
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            data["names"] = tuple(str(n) for n in data["names"])
            data["strides"] = tuple(int(s) for s in data["strides"])
            data["anchors"] = tuple(tuple(float(v) for v in level) for level in data["anchors"])
            data["imgsz"] = tuple(int(v) for v in data["imgsz"])
            if "letterbox" in data:
                data["letterbox"] = Letterbox(**data["letterbox"])
        except (TypeError, ValueError) as exc:
            raise ContractError(f"malformed metadata record: {exc}") from exc
        return cls(**data)
