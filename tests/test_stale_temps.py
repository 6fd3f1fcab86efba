"""Abandoned temporaries of interrupted atomic writes are removed on the next write; nothing else is."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeyolo.atomic import atomic_output
from edgeyolo.stale_temps import PROCESS_START, is_stale


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def old(path: Path, content: bytes = b"x") -> Path:
    if not path.exists():
        path.write_bytes(content)
    past = PROCESS_START - 60
    os.utime(path, (past, past))
    return path


def test_only_our_abandoned_temporaries_are_removed(tmp_path: Path, caplog) -> None:
    gone = dead_pid()
    stale = [
        old(tmp_path / f".m.onnx.{gone}-ab_cd123.tmp", bytes(5 * 2**20)),
        old(tmp_path / ".m.onnx.k2j4h5g6.tmp"),  # written before temporaries carried a PID
        old(tmp_path / f".model.xml.{gone}-zzzzzzzz.old"),
    ]
    ir = tmp_path / f".ir.{gone}-aaaaaaaa.tmp"
    ir.mkdir()
    (ir / "model.xml").write_text("<net/>")
    stale.append(old(ir))
    kept = [
        old(tmp_path / f".m.onnx.{os.getpid()}-abcdefgh.tmp"),  # a live process (this one) may finish it
        tmp_path / f".m.onnx.{gone}-abcdefgh.tmp",  # newer than this process
        old(tmp_path / "m.onnx.abcdefgh.tmp"),  # not hidden: not a name we write
        old(tmp_path / ".m.onnx.tmp"),
        old(tmp_path / ".m.onnx.abc.tmp"),
        old(tmp_path / "notes.tmp"),
        old(tmp_path / ".bashrc"),
    ]
    kept[1].write_bytes(b"fresh")
    with caplog.at_level(logging.WARNING, logger="edgeyolo"), atomic_output(tmp_path / "new.bin") as tmp:
        tmp.write_bytes(b"new")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)
    assert (tmp_path / "new.bin").read_bytes() == b"new"
    assert "removed 4 temporary file(s)" in caplog.text and "interrupted write" in caplog.text


def test_a_temporary_of_a_running_writer_is_not_stale(tmp_path: Path) -> None:
    with atomic_output(tmp_path / "a.bin") as tmp:
        assert tmp.name.startswith(f".a.bin.{os.getpid()}-") and tmp.name.endswith(".tmp")
        old(tmp)
        assert not is_stale(tmp)


def test_killed_writer_leaves_a_temporary_the_next_process_removes(tmp_path: Path) -> None:
    code = (
        "import os, signal, sys\n"
        "from edgeyolo.atomic import atomic_output\n"
        "with atomic_output(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(bytes(1 << 20))\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    target = tmp_path / "m.onnx"
    killed = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True)
    assert killed.returncode == -9
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".m.onnx.") and not target.exists()
    writer = (
        "import sys\nfrom edgeyolo.atomic import atomic_output\n"
        "with atomic_output(sys.argv[1]) as t:\n    t.write_text('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", writer, str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    assert (
        f"removed 1 temporary file(s) left in {tmp_path} by an interrupted write: {left[0].name}"
        in done.stderr
    )


@pytest.mark.parametrize("name", [".x.abcdefgh.tmp", ".x.abcdefgh.old", ".x.y.z.abcdefgh.tmp"])
def test_pattern(name: str, tmp_path: Path) -> None:
    assert is_stale(old(tmp_path / name))
