"""Latency statistics: min / median / mean / p90 / p99 / max of a list of milliseconds, and throughput."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Summary", "fps", "paired_ratio", "summarize"]


@dataclass(frozen=True)
class Summary:
    """Distribution of one stage's latencies, in milliseconds per call."""

    n: int
    min: float
    median: float
    mean: float
    p90: float
    p99: float
    max: float
    std: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain JSON-ready numbers."""
        return asdict(self)


def summarize(samples_ms: Sequence[float]) -> Summary:
    """Summary of `samples_ms` (percentiles with numpy's default linear interpolation)."""
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"need a non-empty 1-D sequence of timings, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("timings must be finite")
    p90, p99 = np.percentile(x, [90, 99])
    return Summary(
        n=int(x.size),
        min=float(x.min()),
        median=float(np.median(x)),
        mean=float(x.mean()),
        p90=float(p90),
        p99=float(p99),
        max=float(x.max()),
        std=float(x.std(ddof=1)) if x.size > 1 else 0.0,
    )


def fps(median_ms: float, batch: int = 1) -> float:
    """Images per second when one call of `batch` images takes `median_ms`."""
    if median_ms <= 0:
        raise ValueError(f"a latency must be positive, got {median_ms} ms")
    return 1000.0 * batch / median_ms


def paired_ratio(samples_ms: Sequence[float], baseline_ms: Sequence[float]) -> float:
    """Median of the per-round ratios `samples / baseline` (same rounds, interleaved): drift cancels."""
    a = np.asarray(samples_ms, dtype=np.float64)
    b = np.asarray(baseline_ms, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired samples must have the same non-zero length, got {a.shape} and {b.shape}")
    return float(np.median(a / b))
