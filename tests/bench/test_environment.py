"""Board detection and machine description, read from recorded files laid out under a fake root."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeyolo.bench.environment import (
    clocks_locked,
    collect_environment,
    cpu_info,
    is_jetson,
    jetson_info,
    l4t_release,
    parse_nvpmodel,
)

BOARDS = {
    "nano": (
        "NVIDIA Jetson Nano Developer Kit\x00",
        "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, "
        "DATE: Sat Feb 19 17:05:08 UTC 2022\n# KERNEL_VARIANT: oot\n",
        "57000000.gpu",
        "32.7.1",
        "t210ref",
    ),
    "xavier-nx": (
        "NVIDIA Jetson Xavier NX Developer Kit\x00",
        "# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, "
        "DATE: Tue Aug  1 19:57:35 UTC 2023\n",
        "17000000.gv11b",
        "35.4.1",
        "t186ref",
    ),
    "orin": (
        "NVIDIA Jetson AGX Orin Developer Kit\x00",
        "# R36 (release), REVISION: 3.0, GCID: 36923193, BOARD: generic, EABI: aarch64, "
        "DATE: Fri Jul 19 23:24:25 UTC 2024\n",
        "17000000.ga10b",
        "36.3.0",
        "generic",
    ),
}


def _board(
    root: Path, model: str, release: str, gpu: str, cpu_lo: int, cpu_hi: int, gpu_lo: int, gpu_hi: int
):
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_text(model)
    (root / "etc").mkdir()
    (root / "etc/nv_tegra_release").write_text(release)
    cpu = root / "sys/devices/system/cpu/cpu0/cpufreq"
    cpu.mkdir(parents=True)
    (cpu / "scaling_min_freq").write_text(f"{cpu_lo}\n")
    (cpu / "scaling_max_freq").write_text(f"{cpu_hi}\n")
    dev = root / "sys/class/devfreq" / gpu
    dev.mkdir(parents=True)
    (dev / "min_freq").write_text(f"{gpu_lo}\n")
    (dev / "max_freq").write_text(f"{gpu_hi}\n")


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_board_release_and_locked_clocks(tmp_path: Path, board: str) -> None:
    model, release, gpu, l4t, board_name = BOARDS[board]
    _board(tmp_path, model, release, gpu, 1479000, 1479000, 921600000, 921600000)
    assert is_jetson(tmp_path)
    info = jetson_info(tmp_path)
    assert info["model"] == model.rstrip("\x00")
    assert info["release"]["l4t"] == l4t and info["release"]["board"] == board_name
    assert info["clocks"]["locked"] is True


def test_unlocked_clocks_are_reported(tmp_path: Path) -> None:
    model, release, gpu, *_ = BOARDS["orin"]
    _board(tmp_path, model, release, gpu, 115200, 2201600, 306000000, 1300500000)
    clocks = clocks_locked(tmp_path)
    assert clocks["cpu_locked"] is False and clocks["gpu_locked"] is False and clocks["locked"] is False


def test_not_a_jetson(tmp_path: Path) -> None:
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_text("Raspberry Pi 4 Model B Rev 1.4\x00")
    assert not is_jetson(tmp_path)
    assert jetson_info(tmp_path) is None
    assert l4t_release(tmp_path) is None
    assert clocks_locked(tmp_path)["locked"] is None


def test_parse_nvpmodel() -> None:
    assert parse_nvpmodel("NV Power Mode: MAXN\n0\n") == {"name": "MAXN", "id": 0}
    assert parse_nvpmodel("NV Fan Mode:quiet\nNV Power Mode: 15W\n2\n") == {"name": "15W", "id": 2}
    assert parse_nvpmodel("nvpmodel: permission denied") is None


def test_cpu_info_from_cpuinfo(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(
        "processor\t: 0\nBogoMIPS\t: 62.50\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics "
        "fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\n"
        "model name\t: ARMv8 Processor rev 1 (v8l)\n"
    )
    info = cpu_info(tmp_path)
    assert info["model"] == "ARMv8 Processor rev 1 (v8l)"
    assert info["flags"] == ["asimd", "asimddp", "fphp", "asimdhp"]


def test_environment_here_names_cpu_and_libraries() -> None:
    env = collect_environment(threads=2)
    assert env["cpu"]["logical_cores"] >= 1 and env["cpu"]["model"]
    assert "onnxruntime" in env["libraries"] and "numpy" in env["libraries"]
    assert env["threads"]["requested"] == 2
