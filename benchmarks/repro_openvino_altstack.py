"""Standalone reproducer of the SIGSEGV once blamed on "OpenVINO bf16 followed by a new child process".

Every `ov.Core` loads its own CPU plugin. The plugin's constructor replaces the calling thread's alternate
signal stack with one it maps itself and remembers the old one; its destructor unmaps its stack and puts
the old one back only if its own is still current. Two Cores freed in the order they were made leave the
thread's alternate stack pointing at unmapped memory, and the next signal with a Python handler (CPython
installs them with SA_ONSTACK) kills the process with SIGSEGV (si_code SI_KERNEL: the kernel could not
write the signal frame). No model, no bf16 and no child process is needed; `subprocess.run` only matters
when something (torch's DataLoader) has installed a Python SIGCHLD handler.

    python benchmarks/repro_openvino_altstack.py creation-order   # dies: exit status 139 / -11
    python benchmarks/repro_openvino_altstack.py reverse-order    # survives
    python benchmarks/repro_openvino_altstack.py shared           # one Core, as edgeyolo now does: survives
"""

from __future__ import annotations

import os
import signal
import sys

import openvino as ov


def main(how: str) -> None:
    signal.signal(signal.SIGUSR1, lambda *_: None)
    if how == "shared":
        from edgeyolo.runtime.backends.openvino_core import shared_core

        a = b = shared_core()
    else:
        a, b = ov.Core(), ov.Core()
    a.get_property("CPU", "OPTIMIZATION_CAPABILITIES")  # loads a's CPU plugin: alternate stack A
    b.get_property("CPU", "OPTIMIZATION_CAPABILITIES")  # loads b's: stack B, remembers A
    if how == "reverse-order":
        del b, a  # B restores A, A restores the original: fine
    else:
        del a, b  # A is unmapped (B is current), then B "restores" A
    print(f"{how}: Cores freed, now a signal", flush=True)
    os.kill(os.getpid(), signal.SIGUSR1)
    print(f"{how}: survived", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "creation-order")
