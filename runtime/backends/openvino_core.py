"""The one OpenVINO `Core` that edgeyolo uses in a process, kept until the process exits.

Each `ov.Core` loads its own CPU plugin, and each CPU plugin, when created, replaces the calling thread's
alternate signal stack with one it maps itself (OpenVINO's `SigAltStackSetup`), remembering the previous
one. When the plugin is destroyed it unmaps its stack, and puts the remembered one back only if its own is
still the current one. Two plugins freed in the order they were made (A, B, then A freed, then B) leave
the thread's alternate stack pointing at A's unmapped memory; so does a plugin freed on another thread.
The next signal handled on that stack (every Python signal handler is installed with SA_ONSTACK, e.g.
torch's SIGCHLD handler when a child process exits) kills the process with SIGSEGV. With one Core that
lives until exit, edgeyolo makes one CPU plugin and never frees it while the process runs.
"""

from __future__ import annotations

import threading
from typing import Any

from edgeyolo.runtime.backends.base import BackendError

_lock = threading.Lock()
_core: Any = None


def shared_core() -> Any:
    """The process-wide `openvino.Core` (created on first use; OpenVINO must be importable)."""
    global _core
    with _lock:  # one Core even when two threads ask for it at once
        if _core is None:
            import openvino as ov

            _core = ov.Core()
        return _core


def device_capabilities(device: str) -> list[str]:
    """What OpenVINO's `device` computes natively (FP32, BF16, FP16, INT8 …)."""
    core = shared_core()
    try:
        return list(core.get_property(device, "OPTIMIZATION_CAPABILITIES"))
    except Exception as exc:  # an unknown or absent device is a RuntimeError from C++
        found = ", ".join(core.available_devices) or "none"
        raise BackendError(f"OpenVINO has no usable {device} device here (available: {found})") from exc
