"""The distribution holds every subpackage, and the runtime side imports without torch."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, run_without_torch

_ROOTS = {
    "edgeyolo": REPO / "edgeyolo",
    "edgeyolo/export": REPO / "export",
    "edgeyolo/runtime": REPO / "runtime",
}


def _source_packages() -> list[str]:
    """Every folder of the source tree holding an `__init__.py`, as it must appear inside the wheel."""
    found = set()
    for prefix, root in _ROOTS.items():
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).as_posix()
            found.add(prefix if rel == "." else f"{prefix}/{rel}")
    return sorted(found)


SUBPACKAGES = _source_packages()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("edgeyolo-*.whl"))


def test_wheel_contains_every_subpackage(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for pkg in SUBPACKAGES:
        assert f"{pkg}/__init__.py" in names, pkg
    assert "edgeyolo/configs/yolov5-mobilenetv2.yaml" in names
    assert not any(n.startswith(("runtime/", "export/", "tests/")) for n in names)


def test_wheel_declares_console_script_and_extras(wheel: Path) -> None:
    zf = zipfile.ZipFile(wheel)
    meta = zf.read(next(n for n in zf.namelist() if n.endswith("METADATA"))).decode()
    for extra in ("export", "openvino", "tensorrt", "dev"):
        assert f"Provides-Extra: {extra}" in meta
    entry = zf.read(next(n for n in zf.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "edgeyolo = edgeyolo.cli:main" in entry


def test_imports_without_torch() -> None:
    result = run_without_torch(
        "import edgeyolo, edgeyolo.runtime, edgeyolo.cli, edgeyolo.config\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_torch_commands_name_the_extra_without_torch() -> None:
    result = run_without_torch("from edgeyolo.cli import main\nraise SystemExit(main(['info']))")
    assert result.returncode == 2
    assert "pip install 'edgeyolo[export]'" in result.stderr
