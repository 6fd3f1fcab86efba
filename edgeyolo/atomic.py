"""Atomic file output: write beside the destination, move into place with `os.replace`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgeyolo.errors import EdgeYoloError
from edgeyolo.stale_temps import remove_stale, temp_prefix


def _normal_permissions(path: Path, directory: bool) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; give the result the usual umask-based mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)


def prepare_parent(path: str | Path, directory: bool = False) -> Path:
    """Create the destination's folder if needed and check it is writable (fail before long work)."""
    parent = Path(path).parent
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise EdgeYoloError(f"cannot create output directory {parent}: {exc.strerror or exc}") from exc
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise EdgeYoloError(f"output directory {parent} is not a writable directory")
    if not directory and Path(path).is_dir():
        raise EdgeYoloError(f"output path {path} is a directory; give a file name")
    return parent


@contextmanager
def atomic_output(path: str | Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on any error it is removed.

    A killed process leaves at most a hidden `.name.PID-*.tmp` beside the destination, never a half-written
    file at the final path; the next atomic write to that folder removes it (`edgeyolo.stale_temps`).
    """
    path = Path(path)
    parent = prepare_parent(path, directory)
    remove_stale(parent)
    prefix = temp_prefix(path)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        _normal_permissions(tmp, directory)
        if directory and path.is_dir():
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
