"""OpenVINO models can be loaded and closed in any order, on any thread, and the process still survives its
next signal (see `edgeyolo.runtime.backends.openvino_core`). Each case runs in a child interpreter: the
failure it guards against is a SIGSEGV that would take the pytest process with it."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from edgeyolo.defaults import shipped_onnx
from edgeyolo.runtime.backends.openvino_core import shared_core

pytest.importorskip("openvino")

# Loads two OpenVINO models, frees them in the order they were made (as `edgeyolo bench --precision fp32
# auto` did) or frees one on another thread, then takes a signal with a Python handler, which CPython runs
# on the thread's alternate signal stack. Before the shared Core this died with SIGSEGV at the signal.
CHILD = """
import gc, os, signal, sys, threading
from edgeyolo.runtime import load_backend

signal.signal(signal.SIGUSR1, lambda *_: None)
first = load_backend(sys.argv[1], "openvino", precision="fp32")
if sys.argv[2] == "creation-order":
    second = load_backend(sys.argv[1], "openvino", precision="fp32")
    first.close()
    del first
    gc.collect()
    second.close()
    del second
else:  # the last reference goes on another thread
    holder = [first]
    del first
    def drop():
        holder.pop().close()
        gc.collect()
    t = threading.Thread(target=drop)
    t.start()
    t.join()
gc.collect()
os.kill(os.getpid(), signal.SIGUSR1)
print("survived")
"""


@pytest.mark.parametrize("how", ["creation-order", "other-thread"])
def test_closing_openvino_models_leaves_signal_handling_intact(how: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(shipped_onnx()), how], capture_output=True, text=True, timeout=300
    )
    assert run.returncode != -signal.SIGSEGV, "the process died of SIGSEGV at its next signal"
    assert run.returncode == 0 and run.stdout.split() == ["survived"], run.stderr


def test_one_core_per_process() -> None:
    assert shared_core() is shared_core()
