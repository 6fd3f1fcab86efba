"""tegrastats on Jetson boards: parse its lines (Nano, TX2, Xavier, Orin formats) and sample it in the
background during a run, for average watts, millijoules per frame and GPU / memory-controller load.

The formats differ by generation:
- Nano (L4T 32): ``POM_5V_IN 1022/1022`` (instant/average mW, no unit), ``GR3D_FREQ 0%@76``.
- Xavier NX: ``VDD_IN 4067/4067`` (L4T 32) or ``VDD_IN 2763mW/2846mW`` (L4T 35); AGX Xavier has no input
  rail, only ``GPU 0/0 CPU 311/311 SOC 932/932 CV 0/0 VDDRQ 621/621 SYS5V 1482/1482``.
- Orin Nano / NX: ``VDD_IN 4824mW/4824mW``; AGX Orin: ``VDD_GPU_SOC … VDD_CPU_CV … VIN_SYS_5V0 …`` (no
  input rail), newer releases with a third ``/max`` value; ``GR3D_FREQ 12%@[1300,1300]`` per GPC.
Board power is the input rail (``VDD_IN`` or ``POM_5V_IN``) where the board reports one, otherwise the sum
of the rails it reports (say so: that sum misses the carrier board).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PowerSummary",
    "TegraSample",
    "TegrastatsSampler",
    "parse_tegrastats",
    "power_meter",
    "summarize_power",
]

INPUT_RAILS = ("VDD_IN", "POM_5V_IN")  # whole-module input power, where the board has such a monitor

# NAME instant[mW]/average[mW][/max[mW]], followed by a space or the end (so RAM 721/31927MB is no rail)
_RAIL = re.compile(r"(?<![\w@])([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?:/\d+(?:mW)?)?(?=\s|$)")
_GR3D = re.compile(r"GR3D_FREQ (?:(\d+)%)?(?:@\[?([\d,]+)\]?)?")
_EMC = re.compile(r"EMC_FREQ (?:(\d+)%)?(?:@(\d+))?")
_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB")
_NOT_RAILS = {"RAM", "SWAP", "IRAM", "EMC_FREQ", "GR3D_FREQ"}


@dataclass
class TegraSample:
    """One tegrastats line: rails in mW (instant), GPU (GR3D) and memory-controller (EMC) load."""

    rails_mw: dict[str, float] = field(default_factory=dict)
    gpu_util: float | None = None  # GR3D %, relative to its current clock
    gpu_freq_mhz: float | None = None
    emc_util: float | None = None
    emc_freq_mhz: float | None = None
    ram_used_mb: float | None = None

    @property
    def power_source(self) -> str | None:
        """Which rail(s) `power_mw` comes from."""
        for rail in INPUT_RAILS:
            if rail in self.rails_mw:
                return rail
        return "sum(" + ",".join(self.rails_mw) + ")" if self.rails_mw else None

    @property
    def power_mw(self) -> float | None:
        """Board input power if reported, else the sum of the reported rails; None without rails."""
        for rail in INPUT_RAILS:
            if rail in self.rails_mw:
                return self.rails_mw[rail]
        return sum(self.rails_mw.values()) if self.rails_mw else None


def parse_tegrastats(line: str) -> TegraSample:
    """Parse one line of `tegrastats` output (any generation; a leading timestamp is ignored)."""
    s = TegraSample()
    for name, instant, _avg in _RAIL.findall(line):
        if name not in _NOT_RAILS:
            s.rails_mw[name] = float(instant)
    if m := _GR3D.search(line):
        if m.group(1) is not None:
            s.gpu_util = float(m.group(1))
        if m.group(2):
            s.gpu_freq_mhz = max(float(f) for f in m.group(2).split(",") if f)
    if m := _EMC.search(line):
        if m.group(1) is not None:
            s.emc_util = float(m.group(1))
        if m.group(2):
            s.emc_freq_mhz = float(m.group(2))
    if m := _RAM.search(line):
        s.ram_used_mb = float(m.group(1))
    return s


@dataclass
class PowerSummary:
    """Power over a run: average watts, energy per frame and average GPU / EMC load."""

    samples: int
    source: str | None
    avg_w: float | None
    mj_per_frame: float | None
    gpu_util: float | None
    emc_util: float | None
    rails_avg_w: dict[str, float]

    def to_dict(self) -> dict:
        """JSON-ready."""
        return dict(self.__dict__)


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def summarize_power(samples: Sequence[TegraSample], frames: int, seconds: float) -> PowerSummary:
    """Average the samples of a run that processed `frames` images in `seconds`."""
    power = _mean([s.power_mw for s in samples])
    avg_w = None if power is None else power / 1000
    rails: dict[str, list[float]] = {}
    for s in samples:
        for k, v in s.rails_mw.items():
            rails.setdefault(k, []).append(v)
    return PowerSummary(
        samples=len(samples),
        source=samples[0].power_source if samples else None,
        avg_w=avg_w,
        mj_per_frame=None if avg_w is None or frames <= 0 else avg_w * seconds / frames * 1000,
        gpu_util=_mean([s.gpu_util for s in samples]),
        emc_util=_mean([s.emc_util for s in samples]),
        rails_avg_w={k: sum(v) / len(v) / 1000 for k, v in rails.items()},
    )


class TegrastatsSampler:
    """Runs `tegrastats --interval N` in a subprocess while in use; `samples` holds the parsed lines.

    ``with TegrastatsSampler(100) as s: run(); print(summarize_power(s.samples, frames, secs))``.
    `command` replaces the tegrastats command line (tests, or a `sudo tegrastats` wrapper).
    """

    def __init__(self, interval_ms: int = 100, command: Sequence[str] | None = None) -> None:
        if command is None:
            exe = shutil.which("tegrastats")
            if exe is None:
                raise FileNotFoundError(
                    "tegrastats is not on PATH: this is not a Jetson (or L4T is incomplete)"
                )
            command = [exe, "--interval", str(interval_ms)]
        self.command = list(command)
        self.samples: list[TegraSample] = []
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._recording = False

    def __enter__(self) -> TegrastatsSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start tegrastats; lines are recorded from now until `stop`."""
        self._proc = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
        self._recording = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if self._recording and line.strip():
                self.samples.append(parse_tegrastats(line))

    def stop(self) -> None:
        """Stop recording and end the tegrastats process."""
        self._recording = False
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait_for_samples(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Block until `n` samples arrived (the first line comes one interval after start)."""
        end = time.monotonic() + timeout
        while len(self.samples) < n and time.monotonic() < end:
            time.sleep(0.01)
        return len(self.samples) >= n


def power_meter(
    seconds: float = 5.0, interval_ms: int = 100, command: Sequence[str] | None = None
) -> Callable[[Any], dict]:
    """A `power` callback for `run_benchmark`: runs one model alone for `seconds` while tegrastats samples,
    and returns its `PowerSummary` as a dict (average W, mJ per image, GPU / EMC load)."""

    def measure(runner: Any) -> dict:
        with TegrastatsSampler(interval_ms, command) as sampler:
            sampler.wait_for_samples(1, timeout=max(5.0, 5 * interval_ms / 1000))
            sampler.samples.clear()  # start counting with the model running, not idle
            start, frames = time.perf_counter(), 0
            limit = seconds + 10 * interval_ms / 1000 + 5
            while True:
                runner.run()
                frames += runner.batch
                elapsed = time.perf_counter() - start
                if (elapsed >= seconds and len(sampler.samples) >= 2) or elapsed >= limit:
                    break
            samples = list(sampler.samples)
        if not samples:
            raise RuntimeError(f"tegrastats ({' '.join(sampler.command)}) printed nothing in {elapsed:.1f} s")
        return summarize_power(samples, frames, elapsed).to_dict()

    return measure
