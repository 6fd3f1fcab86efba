"""Process memory (resident set size, now and peak) and GPU memory where a GPU is present."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from edgeyolo.bench.environment import nvidia_smi

__all__ = ["gpu_memory_mb", "peak_rss_mb", "rss_mb"]


def _status_kb(field: str, status: Path = Path("/proc/self/status")) -> float | None:
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return None


def rss_mb() -> float | None:
    """Current resident set size of this process in MiB (None where /proc is absent)."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB since it started."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux


def gpu_memory_mb() -> dict[str, float] | None:
    """GPU memory of this process in MiB: torch's own peak when it runs on CUDA, and what nvidia-smi
    reports for this process id. None where neither is available (no GPU, or a Jetson: shared RAM)."""
    out: dict[str, float] = {}
    torch = sys.modules.get("torch")  # only if a model already brought torch in; never imported here
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        out["torch_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
        out["torch_max_reserved_mb"] = torch.cuda.max_memory_reserved() / 2**20
    result = nvidia_smi("--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits", timeout=10)
    if result is not None:
        for line in result.stdout.splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 2 and parts[0] == str(os.getpid()) and parts[1].isdigit():
                out["nvidia_smi_used_mb"] = float(parts[1])
    return out or None
