"""Read pickled checkpoints of other training code without running any of their code.

torch's `get_unsafe_globals_in_checkpoint` lists every class/function the pickle names (statically, nothing
runs). Each name must be on an allow-list; it is then bound to an inert placeholder class registered with
`torch.serialization.safe_globals`, and `torch.load(weights_only=True)` fills the placeholders with the
pickled state (tensors, dicts, numbers). Nothing from the file, and no package of the training code, is ever
imported or called: a placeholder only stores what it is given.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from edgeyolo.models.checkpoint import CheckpointError

# torch.nn classes a training script's model tree may hold (mapped by name, never imported from the file).
TORCH_NN = {
    "torch.nn.modules.conv.Conv2d",
    "torch.nn.modules.batchnorm.BatchNorm2d",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.container.ModuleList",
    "torch.nn.modules.container.ModuleDict",
    "torch.nn.modules.pooling.MaxPool2d",
    "torch.nn.modules.pooling.AdaptiveAvgPool2d",
    "torch.nn.modules.upsampling.Upsample",
    "torch.nn.modules.linear.Identity",
    "torch.nn.modules.activation.SiLU",
    "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.activation.ReLU6",
    "torch.nn.modules.activation.LeakyReLU",
    "torch.nn.modules.activation.Hardswish",
    "torch.nn.modules.activation.Hardsigmoid",
    "torch.nn.modules.activation.Mish",
    "torch.nn.modules.activation.Sigmoid",
}
# Plain data that training scripts pickle beside the model (`best_fitness`, paths in `opt`, ...).
PLAIN_DATA = {
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.ndarray",
    "numpy.dtype",
    "pathlib.Path",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
    "argparse.Namespace",
}


class UnsupportedCheckpointError(CheckpointError):
    """A checkpoint of training code edgeyolo does not import (e.g. an Ultralytics YOLOv8 model)."""


class Placeholder:
    """Inert stand-in for a pickled class or function: it records its arguments and state, nothing else."""

    qualified_name = "?"
    args: tuple = ()
    state: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<{self.qualified_name}>"

    @property
    def attrs(self) -> dict[str, Any]:
        """The pickled instance dict (for an nn.Module: `_parameters`, `_modules`, its attributes)."""
        state = self.state
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
            state = state[0]
        return state if isinstance(state, dict) else {}

    @property
    def short_name(self) -> str:
        return self.qualified_name.rsplit(".", 1)[-1]


@dataclass
class PickledCheckpoint:
    """The object a checkpoint holds, with placeholders where it pickled classes."""

    obj: Any
    globals: list[str] = field(default_factory=list)


_LOCK = threading.Lock()  # safe_globals is process-global state


def list_globals(path: Path) -> list[str] | None:
    """The non-default globals a torch zip checkpoint names, found without unpickling; None if the file is
    not a torch zip (legacy format, or not a checkpoint at all)."""
    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # not a zip, torchscript, or junk: the ordinary loader reports it
        return None


def placeholder_class(name: str) -> type[Placeholder]:
    module, _, short = name.rpartition(".")
    return type(short, (Placeholder,), {"__module__": module, "qualified_name": name})


def load_with_placeholders(path: Path, names: list[str]) -> PickledCheckpoint:
    """`torch.load(weights_only=True)` with every name in `names` bound to an inert placeholder."""
    pairs = [(placeholder_class(n), n) for n in names]
    try:
        with _LOCK, torch.serialization.safe_globals(pairs):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        raise CheckpointError(f"{path} cannot be read: {lines[0] if lines else type(exc).__name__}") from None
    return PickledCheckpoint(obj, names)


def module_tree_state(root: Placeholder) -> dict[str, torch.Tensor]:
    """What `state_dict()` of the pickled module tree would return: parameters and persistent buffers."""
    out: dict[str, torch.Tensor] = {}
    for prefix, mod in iter_modules(root):
        attrs = mod.attrs
        skip = attrs.get("_non_persistent_buffers_set") or set()
        for kind in ("_parameters", "_buffers"):
            for name, t in (attrs.get(kind) or {}).items():
                if isinstance(t, torch.Tensor) and name not in skip:
                    out[prefix + name] = t.detach()
    return out


def iter_modules(root: Placeholder, prefix: str = ""):
    """(prefix, module) for every module of a pickled tree, parents first, as `named_modules` orders them."""
    yield prefix, root
    for name, child in (root.attrs.get("_modules") or {}).items():
        if isinstance(child, Placeholder):
            yield from iter_modules(child, f"{prefix}{name}.")
