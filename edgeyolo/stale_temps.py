"""Remove the temporaries an interrupted atomic write left behind (`edgeyolo.atomic` names them).

A killed export leaves `.NAME.PID.XXXXXXXX.tmp` (or `.old`) beside its destination. The next atomic write
to that folder removes such entries when they are certainly abandoned: the name matches our pattern, the
entry is older than this process, and the process named in it is gone (names written before the PID was
recorded, `.NAME.XXXXXXXX.tmp`, count as abandoned once older than this process). Nothing else is touched.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

log = logging.getLogger("edgeyolo")

PROCESS_START = time.time()  # this module is imported when the first atomic write is prepared, or earlier

# mkstemp/mkdtemp add 8 characters from [a-z0-9_]
_OURS = re.compile(r"^\.(?P<target>.+?)\.(?:(?P<pid>\d+)-)?[a-z0-9_]{8}\.(?:tmp|old)$")


def temp_prefix(target: Path) -> str:
    """The prefix every temporary for `target` gets: `.NAME.PID-`."""
    return f".{target.name}.{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def is_stale(entry: Path) -> bool:
    """Whether `entry` is a temporary of ours that no live process will finish."""
    match = _OURS.match(entry.name)
    if not match:
        return False
    try:
        if entry.lstat().st_mtime >= PROCESS_START:
            return False
    except OSError:
        return False
    pid = match.group("pid")
    return pid is None or not _alive(int(pid))


def remove_stale(folder: Path) -> list[str]:
    """Remove abandoned temporaries in `folder`; returns their names (and logs them)."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not is_stale(entry):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # another writer removed it first, or it is not ours to remove after all
        removed.append(entry.name)
    if removed:
        log.warning(
            "removed %d temporary file(s) left in %s by an interrupted write: %s",
            len(removed),
            folder,
            ", ".join(sorted(removed)),
        )
    return removed
