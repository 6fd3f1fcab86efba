"""Check a model's `edgeyolo` contract against the graph's real inputs and outputs, at load time.

A record copied from another model, or a graph edited after export, would otherwise load and fail at
the first frame (or, worse, decode garbage). Backends describe their graph as `Port`s (shape with None
for a dynamic dimension, numpy dtype) and call `check_graph`, which raises ContractError naming the
first mismatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgeyolo.runtime.contract import Contract, ContractError

__all__ = ["Port", "check_graph"]


@dataclass(frozen=True)
class Port:
    """One graph input or output: name, shape (None where dynamic) and element type."""

    name: str
    shape: tuple[int | None, ...] | None  # None: not even the rank is known
    dtype: np.dtype | None = None


def _fits(dim: int | None, want: int) -> bool:
    return dim is None or dim == want


def check_graph(contract: Contract, inputs: Sequence[Port], outputs: Sequence[Port], path: object) -> None:
    """Raise ContractError if the graph at `path` cannot be what its metadata says it is."""

    def fail(what: str) -> None:
        raise ContractError(
            f"{path}: the {contract.outputs!r} model's metadata does not match its graph: {what}"
        )

    if any(p.shape is None for p in (*inputs, *outputs)):
        return  # a graph of unknown ranks tells nothing to check against
    if len(inputs) != 1:
        fail(f"expected one input, the graph has {len(inputs)}")
    inp = inputs[0]
    if len(inp.shape) != 4:
        fail(f"input {inp.name!r} has shape {list(inp.shape)}, expected 4 dimensions")
    uint8 = contract.input == "uint8-nhwc-bgr"
    channels, spatial = (inp.shape[3], inp.shape[1:3]) if uint8 else (inp.shape[1], inp.shape[2:4])
    layout = "[B, H, W, 3]" if uint8 else "[B, 3, H, W]"
    if not _fits(channels, 3):
        fail(f"input {inp.name!r} has shape {list(inp.shape)}, expected {layout} for {contract.input}")
    if inp.dtype is not None and (inp.dtype == np.uint8) != uint8:
        fail(f"input {inp.name!r} is {inp.dtype}, but the metadata says {contract.input}")
    if not contract.dynamic_shape and not all(
        _fits(d, s) for d, s in zip(spatial, contract.imgsz, strict=True)
    ):
        fail(f"input {inp.name!r} has shape {list(inp.shape)}, but imgsz is {list(contract.imgsz)}")

    if contract.outputs == "raw":
        _check_raw(contract, outputs, fail)
    elif contract.outputs == "decoded":
        if len(outputs) != 1 or len(outputs[0].shape) != 3 or not _fits(outputs[0].shape[2], 5 + contract.nc):
            fail(f"expected one output [B, N, {5 + contract.nc}] (5 + nc), got {_shapes(outputs)}")
    else:
        dets = outputs[0].shape if outputs else ()
        if len(outputs) != 2 or len(dets) != 3 or not _fits(dets[2], 6):
            fail(f"expected outputs [B, max_det, 6] and num_dets [B], got {_shapes(outputs)}")


def _check_raw(contract: Contract, outputs: Sequence[Port], fail) -> None:
    levels, no = len(contract.strides), contract.na * (5 + contract.nc)
    if len(outputs) != levels:
        fail(
            f"{levels} strides {list(contract.strides)} "
            f"but the graph has {len(outputs)} outputs {_shapes(outputs)}"
        )
    for out, stride in zip(outputs, contract.strides, strict=True):
        if len(out.shape) != 4 or not _fits(out.shape[1], no):
            fail(
                f"output {out.name!r} has shape {list(out.shape)}, expected [B, {no}, H, W] "
                f"(na={contract.na} x (5 + nc={contract.nc}))"
            )
        if not contract.dynamic_shape:
            h, w = (-(-s // stride) for s in contract.imgsz)
            if not (_fits(out.shape[2], h) and _fits(out.shape[3], w)):
                fail(
                    f"output {out.name!r} has shape {list(out.shape)}, but stride {stride} at imgsz "
                    f"{list(contract.imgsz)} gives {h}x{w}"
                )


def _shapes(ports: Sequence[Port]) -> str:
    return ", ".join(f"{p.name}{list(p.shape)}" for p in ports) or "none"
