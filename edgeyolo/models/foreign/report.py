"""Convert a foreign checkpoint once into a native edgeyolo checkpoint, with a report of what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeyolo.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)


def import_checkpoint(
    src: str | Path,
    out: str | Path,
    cfg_text: str | None = None,
    classes: str | Path | None = None,
    anchors: str | Path | None = None,
) -> dict[str, Any]:
    """Read `src` (a YOLOv5/PyTorch_YOLOv4 pickle, a YOLOv5 state_dict with its YAML in `cfg_text`, or a
    document-001 YoloBody state_dict with its `classes`/`anchors` files), write the native checkpoint `out`
    atomically, and return the report: format, classes, image size, what was adapted, parameters."""
    src, out = Path(src), Path(out)
    if classes is not None or anchors is not None:
        from edgeyolo.models.foreign import load_with_side_files

        ckpt = load_with_side_files(src, classes, anchors)
    else:
        ckpt = load_checkpoint(src, cfg_text=cfg_text)
    origin = ckpt.meta.get("imported_from")
    if not ckpt.meta.get("converted"):
        raise CheckpointError(f"{src} is already an edgeyolo checkpoint; nothing to import")
    model = model_from_checkpoint(ckpt).eval()
    meta = {"imported_from": origin, "adapted": list(ckpt.meta.get("adapted") or [])}
    save_checkpoint(out, model, names=ckpt.names, imgsz=ckpt.imgsz, meta=meta)
    return {
        "source": str(src),
        "output": str(out),
        "format": origin["format"],
        "sha256": origin["sha256"],
        "nc": model.nc,
        "names": list(ckpt.names),
        "imgsz": ckpt.imgsz,
        "strides": model.strides,
        "anchors": model.anchors_pixels,
        "parameters": sum(p.numel() for p in model.parameters()),
        "adapted": meta["adapted"],
    }
