"""What the numbers were measured on: CPU, threads, library versions, GPU and driver, and on a Jetson the
board, L4T / JetPack release, nvpmodel mode and whether the clocks are locked (jetson_clocks).

Every reader takes `root` (default "/") so board detection can be tested on recorded files.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = [
    "clocks_locked",
    "collect_environment",
    "cpu_info",
    "gpu_info",
    "is_jetson",
    "jetson_info",
    "jetson_model",
    "l4t_release",
    "library_versions",
    "parse_nvpmodel",
]

# Flags that decide which kernels inference libraries pick (SIMD width, int8 dot products, bf16).
_INTERESTING_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "asimd",
    "asimddp",
    "fphp",
    "asimdhp",
    "sve",
    "i8mm",
)
_LIBRARIES = (
    "edgeyolo",
    "numpy",
    "opencv-python-headless",
    "opencv-python",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "torch",
    "tensorrt",
    "pycocotools",
)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def cpu_info(root: Path = Path("/")) -> dict:
    """CPU model, the SIMD flags that matter for inference, logical cores, and cores this process may use."""
    text = _read(root / "proc/cpuinfo") or ""
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and model is None:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    if model is None:
        model = platform.processor() or platform.machine()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "model": model,
        "arch": platform.machine(),
        "flags": [f for f in _INTERESTING_FLAGS if f in flags],
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
    }


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers (from package metadata, no imports)."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if "tensorrt" not in out and "tensorrt" in sys.modules:  # JetPack's TensorRT has no pip metadata
        out["tensorrt"] = str(getattr(sys.modules["tensorrt"], "__version__", "unknown"))
    return out


def nvidia_smi(*args: str, timeout: float = 15) -> subprocess.CompletedProcess | None:
    """Run nvidia-smi with `args`; None where it is not installed."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    return subprocess.run([smi, *args], capture_output=True, text=True, timeout=timeout, check=False)


def gpu_info() -> list[dict] | None:
    """Name, driver and memory of each NVIDIA GPU per nvidia-smi; None where it is absent."""
    result = nvidia_smi("--query-gpu=name,driver_version,memory.total,compute_cap", "--format=csv,noheader")
    if result is None:
        return None
    if result.returncode != 0:
        return [{"error": (result.stderr or result.stdout).strip()[:200]}]
    gpus = []
    for line in result.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        gpus.append(dict(zip(("name", "driver", "memory_total", "compute_capability"), parts, strict=False)))
    return gpus


# -- Jetson ---------------------------------------------------------------------------------------------
def jetson_model(root: Path = Path("/")) -> str | None:
    """The board name from the device tree (e.g. "NVIDIA Jetson Xavier NX Developer Kit"), if a Jetson."""
    text = _read(root / "proc/device-tree/model")
    if text is None:
        return None
    model = text.replace("\x00", "").strip()
    return model if "jetson" in model.lower() or (root / "etc/nv_tegra_release").exists() else None


def is_jetson(root: Path = Path("/")) -> bool:
    """True on an NVIDIA Jetson (device-tree model or L4T release file present)."""
    return jetson_model(root) is not None or (root / "etc/nv_tegra_release").exists()


def l4t_release(root: Path = Path("/")) -> dict | None:
    """L4T release from /etc/nv_tegra_release ("# R35 (release), REVISION: 4.1, …") and the JetPack it
    ships with (from the nvidia-jetpack package when dpkg knows it)."""
    text = _read(root / "etc/nv_tegra_release")
    if text is None:
        return None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    board = re.search(r"BOARD:\s*([^,\s]+)", text)
    out: dict = {"raw": text.strip().splitlines()[0] if text.strip() else ""}
    if m:
        out["l4t"] = f"{m.group(1)}.{m.group(2)}"
    if board:
        out["board"] = board.group(1)
    if root == Path("/") and shutil.which("dpkg-query"):
        res = subprocess.run(
            ["dpkg-query", "--showformat=${Version}", "--show", "nvidia-jetpack"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        if res.returncode == 0 and res.stdout.strip():
            out["jetpack"] = res.stdout.strip()
    return out


def parse_nvpmodel(text: str) -> dict | None:
    """`nvpmodel -q` output ("NV Power Mode: MAXN\\n0") → {"name": "MAXN", "id": 0}."""
    m = re.search(r"NV Power Mode:\s*(\S+)", text)
    if not m:
        return None
    ids = re.findall(r"^\s*(\d+)\s*$", text, flags=re.M)
    return {"name": m.group(1), "id": int(ids[0]) if ids else None}


def _nvpmodel() -> dict | None:
    exe = shutil.which("nvpmodel")
    if exe is None:
        return None
    res = subprocess.run([exe, "-q"], capture_output=True, text=True, timeout=15, check=False)
    return parse_nvpmodel(res.stdout) or {"error": (res.stderr or res.stdout).strip()[:200]}


def _gpu_devfreq(root: Path) -> Path | None:
    # Nano 57000000.gpu, Xavier 17000000.gv11b, Orin 17000000.ga10b / 17000000.gpu
    for pattern in ("*.gpu", "*.gv11b", "*.ga10b", "*.gp10b", "*gpu*"):
        found = sorted((root / "sys/class/devfreq").glob(pattern))
        if found:
            return found[0]
    return None


def clocks_locked(root: Path = Path("/")) -> dict:
    """Whether jetson_clocks has pinned the clocks: for CPU 0 and the GPU, min frequency == max frequency.

    Read from sysfs (no root needed). `locked` is None when neither clock can be read.
    """
    out: dict = {}
    cpu = root / "sys/devices/system/cpu/cpu0/cpufreq"
    lo, hi = _read(cpu / "scaling_min_freq"), _read(cpu / "scaling_max_freq")
    if lo and hi:
        out["cpu0_min_max_khz"] = [int(lo), int(hi)]
        out["cpu_locked"] = int(lo) == int(hi)
    gpu = _gpu_devfreq(root)
    if gpu is not None:
        lo, hi = _read(gpu / "min_freq"), _read(gpu / "max_freq")
        if lo and hi:
            out["gpu_min_max_hz"] = [int(lo), int(hi)]
            out["gpu_locked"] = int(lo) == int(hi)
    parts = [v for k, v in out.items() if k.endswith("_locked")]
    out["locked"] = all(parts) if parts else None
    return out


def jetson_info(root: Path = Path("/")) -> dict | None:
    """Board, L4T/JetPack, nvpmodel mode and clock state; None when this is not a Jetson."""
    if not is_jetson(root):
        return None
    return {
        "model": jetson_model(root),
        "release": l4t_release(root),
        "nvpmodel": _nvpmodel() if root == Path("/") else None,
        "clocks": clocks_locked(root),
    }


def collect_environment(threads: int | None = None) -> dict:
    """Everything about this machine a reader needs to interpret (or reproduce) the figures."""
    thread_env = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
        if k in os.environ
    }
    return {
        "platform": platform.platform(),
        "hostname": platform.node(),
        "cpu": cpu_info(),
        "threads": {"requested": threads, "env": thread_env},
        "libraries": library_versions(),
        "gpu": gpu_info(),
        "jetson": jetson_info(),
    }
