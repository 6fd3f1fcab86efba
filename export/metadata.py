"""Read and write the runtime contract in ONNX `metadata_props`; file hashes for provenance."""

from __future__ import annotations

import hashlib

import onnx

from edgeyolo import __version__
from edgeyolo.runtime.contract import METADATA_KEY, Contract, sha256_file

__all__ = ["read_metadata", "sha256_file", "sha256_text", "write_metadata"]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_metadata(proto: onnx.ModelProto, contract: Contract) -> None:
    """Set the `edgeyolo` record (replacing an older one) plus a few keys other tools read."""
    keep = [p for p in proto.metadata_props if p.key not in (METADATA_KEY, "names", "stride")]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    entries = {
        METADATA_KEY: contract.to_json(),
        "names": str(dict(enumerate(contract.names))),
        "stride": str(max(contract.strides)),
    }
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "edgeyolo"
    proto.producer_version = __version__


def read_metadata(proto: onnx.ModelProto) -> Contract:
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            return Contract.from_json(prop.value)
    raise KeyError(f"no {METADATA_KEY!r} metadata record")
