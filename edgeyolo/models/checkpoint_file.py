"""What a `.pt` file is, found from its bytes before torch reads it (no unpickling, nothing inflated).

A torch checkpoint is a zip archive (`<name>/data.pkl` plus one stored entry per tensor storage under
`<name>/data/`) or, from torch < 1.6, a pickle that starts with torch's legacy magic number. Anything
else gets a message saying what the file is, and a zip whose storages are compressed or declare more
bytes than any model edgeyolo builds is refused before a byte of it is inflated.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from edgeyolo.models.parser import MAX_PARAMETERS

# torch.save writes every storage uncompressed; 8 bytes per parameter leaves room for float64 weights
# and for the buffers (BatchNorm statistics, anchors) next to the largest model edgeyolo builds.
MAX_STORAGE_BYTES = 8 * MAX_PARAMETERS

_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"  # pickle of torch's legacy magic number


def checkpoint_format(path: str | Path) -> str:
    """ "zip" or "legacy" for a torch file; raises ValueError saying what the file is otherwise."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise ValueError("the file is empty")
    if head.startswith(b"PK"):
        _check_zip(path)
        return "zip"
    if head.startswith(_LEGACY_MAGIC):
        return "legacy"
    return _not_torch(head)


def _not_torch(head: bytes) -> str:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        kind = f"binary data beginning {head[:8]!r}"
    else:
        kind = f"text beginning {text[:20]!r}"
    raise ValueError(
        f"not a PyTorch checkpoint: it holds {kind}, neither a torch zip nor a legacy torch file"
    )


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"a truncated or corrupt zip archive ({exc})") from None
    names = [e.filename for e in entries]
    if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        raise ValueError("a zip archive but not a PyTorch file (it has no data.pkl)")
    size = path.stat().st_size
    total = 0
    for entry in entries:
        if "/data/" not in f"/{entry.filename}":
            continue
        if entry.compress_type != zipfile.ZIP_STORED:
            raise ValueError(
                f"tensor storage {entry.filename} is compressed, which torch.save never writes; "
                "refusing to inflate it"
            )
        if entry.header_offset + entry.file_size > size:
            raise ValueError(f"tensor storage {entry.filename} runs past the end of the file (truncated?)")
        total += entry.file_size
    if total > MAX_STORAGE_BYTES:
        raise ValueError(
            f"its tensors declare {total / 2**20:,.0f} MiB, "
            f"more than the {MAX_STORAGE_BYTES / 2**20:,.0f} MiB "
            f"any model within edgeyolo's {MAX_PARAMETERS:,}-parameter limit needs"
        )
