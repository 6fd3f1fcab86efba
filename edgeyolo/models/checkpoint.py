"""Checkpoints (DESIGN.md §3): a torch zip of tensors and plain data, loaded with `weights_only=True`.

`{"model": state_dict, "cfg": <yaml text>, "names": [...], "imgsz": int, "meta": {...}}`
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from edgeyolo import __version__
from edgeyolo.atomic import atomic_output
from edgeyolo.config import ModelConfigError, parse_config_text
from edgeyolo.errors import EdgeYoloError
from edgeyolo.models.checkpoint_file import checkpoint_format
from edgeyolo.models.yolo import DetectionModel

REQUIRED_KEYS = ("model", "cfg", "names", "imgsz")
MAX_IMGSZ = 8192  # the largest training size a checkpoint may record


class CheckpointError(EdgeYoloError, ValueError):
    """A checkpoint is missing, not an edgeyolo checkpoint, unsafe to load, or does not fit its model."""


@dataclass
class Checkpoint:
    state_dict: dict[str, torch.Tensor]
    cfg: str
    names: list[str]
    imgsz: int
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = ""


def save_checkpoint(
    path: str | Path,
    model: DetectionModel,
    names: list[str] | None = None,
    imgsz: int = 640,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file beside `path`, then `os.replace`)."""
    path = Path(path)
    names = list(names if names is not None else model.names)
    if len(names) != model.nc:
        raise CheckpointError(f"{len(names)} class names for a model with nc={model.nc}")
    payload = {
        "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "cfg": model.cfg.text,
        "names": names,
        "imgsz": int(imgsz),
        "meta": {"edgeyolo_version": __version__, "cfg_source": model.cfg.source, **(meta or {})},
    }
    from edgeyolo.models.foreign.overrides import current_overrides

    if overrides := current_overrides(model):
        payload["meta"]["overrides"] = overrides
    atomic_torch_save(payload, path)
    return path


def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary name in the destination folder, then move it into place."""
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | Path, trust: bool = False, cfg_text: str | None = None) -> Checkpoint:
    """Read a checkpoint with `weights_only=True`. A file that needs arbitrary unpickling is refused
    unless `trust` is set (then it loads with a warning). Checkpoints of other training code are recognised
    and converted (`edgeyolo.models.foreign`); a plain state_dict needs its model YAML as `cfg_text`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        fmt = checkpoint_format(path)  # what the file is and what its storages declare, before reading them
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    from edgeyolo.models import foreign

    imported = foreign.screen(path, trust)
    if imported is not None:
        return imported
    mmap = fmt == "zip"  # storages stay on disk until used: memory holds only what the model takes
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if "weights only" not in str(exc).lower():
            raise CheckpointError(f"{path} is not a readable checkpoint: {_first_line(exc)}") from None
        if not trust:
            raise CheckpointError(
                f"{path} holds Python objects beyond tensors and plain data, and loading them could run "
                "code. If you trust its origin, pass --trust-checkpoint (trust=True). "
                f"({_first_line(exc)})"
            ) from None
        warnings.warn(f"loading {path} with full unpickling because it was trusted explicitly", stacklevel=2)
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
        except Exception as exc:  # arbitrary unpickling fails in arbitrary ways
            reason = _first_line(exc)
            raise CheckpointError(f"{path} cannot be unpickled even when trusted: {reason}") from None
    except Exception as exc:  # torch.load raises anything from IndexError to RuntimeError on junk input
        raise CheckpointError(f"{path} is not a readable checkpoint: {_first_line(exc)}") from None
    if not (isinstance(obj, dict) and all(k in obj for k in REQUIRED_KEYS)):
        imported = foreign.from_plain_object(obj, path, cfg_text)
        if imported is not None:
            return imported
    return _validate(obj, path)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _validate(obj: Any, path: Path) -> Checkpoint:
    if not isinstance(obj, dict) or any(k not in obj for k in REQUIRED_KEYS):
        keys = sorted(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(
            f"{path} is not an edgeyolo checkpoint (expected keys {list(REQUIRED_KEYS)}, found {keys})"
        )
    state = obj["model"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{path}: 'model' must be a state_dict of tensors")
    if not isinstance(obj["cfg"], str) or not isinstance(obj["names"], list):
        raise CheckpointError(f"{path}: 'cfg' must be YAML text and 'names' a list")
    if not all(isinstance(n, (str, int)) and not isinstance(n, bool) for n in obj["names"]):
        raise CheckpointError(f"{path}: 'names' must be a list of strings")
    imgsz = obj["imgsz"]
    if isinstance(imgsz, bool) or not isinstance(imgsz, int) or not 0 < imgsz <= MAX_IMGSZ:
        raise CheckpointError(f"{path}: 'imgsz' must be an integer in [1, {MAX_IMGSZ}], got {imgsz!r}")
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise CheckpointError(f"{path}: 'meta' must be a mapping, got {type(meta).__name__}")
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN or infinite values")
    return Checkpoint(
        state_dict=state,
        cfg=obj["cfg"],
        names=[str(n) for n in obj["names"]],
        imgsz=imgsz,
        meta=dict(meta or {}),
        path=str(path),
    )


def model_from_checkpoint(ckpt: Checkpoint, cfg_text: str | None = None) -> DetectionModel:
    """Build the checkpoint's model (or `cfg_text`'s, which must fit the weights) and load the weights."""
    source = f"{Path(ckpt.path).name}:cfg" if cfg_text is None else "--cfg"
    try:
        cfg = parse_config_text(cfg_text if cfg_text is not None else ckpt.cfg, source)
        model = DetectionModel(cfg, nc=len(ckpt.names))
    except ModelConfigError as exc:
        raise CheckpointError(f"{ckpt.path}: its model config does not build: {exc}") from exc
    own = model.state_dict()
    missing = [k for k in own if k not in ckpt.state_dict]
    unexpected = [k for k in ckpt.state_dict if k not in own]
    wrong = [k for k in own if k in ckpt.state_dict and own[k].shape != ckpt.state_dict[k].shape]
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        )
        raise CheckpointError(f"{ckpt.path}: weights do not fit the model config ({detail})")
    strides = model.head.stride.clone()
    model.load_state_dict(ckpt.state_dict)
    if not torch.equal(model.head.stride, strides):
        raise CheckpointError(
            f"{ckpt.path}: its stride buffer {model.head.stride.tolist()} does not match the strides its "
            f"config builds {strides.tolist()}"
        )
    model.names = list(ckpt.names)
    if cfg_text is None and ckpt.meta.get("overrides"):
        from edgeyolo.models.foreign.overrides import apply_overrides

        apply_overrides(model, ckpt.meta["overrides"])
    return model


def load_model(path: str | Path, trust: bool = False, cfg_text: str | None = None) -> DetectionModel:
    """Load a checkpoint and return its model in eval mode."""
    return load_model_and_checkpoint(path, trust, cfg_text)[0]


def load_model_and_checkpoint(
    path: str | Path, trust: bool = False, cfg_text: str | None = None
) -> tuple[DetectionModel, Checkpoint]:
    """Read a checkpoint once: its model in eval mode and the checkpoint (image size, names, meta)."""
    ckpt = load_checkpoint(path, trust=trust, cfg_text=cfg_text)
    if ckpt.meta.get("converted"):
        cfg_text = None  # converted from another format just now, using --cfg already
    return model_from_checkpoint(ckpt, cfg_text).eval(), ckpt
