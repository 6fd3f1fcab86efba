"""Latency statistics agree with numpy's percentiles; ratios are paired by round."""

from __future__ import annotations

import numpy as np
import pytest

from edgeyolo.bench.stats import fps, paired_ratio, summarize


@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_summary_matches_numpy(n: int) -> None:
    x = np.random.default_rng(n).lognormal(1.0, 0.5, n)
    s = summarize(x.tolist())
    assert s.n == n
    assert s.min == pytest.approx(x.min())
    assert s.max == pytest.approx(x.max())
    assert s.mean == pytest.approx(x.mean())
    assert s.median == pytest.approx(np.median(x))
    assert s.p90 == pytest.approx(np.percentile(x, 90))
    assert s.p99 == pytest.approx(np.percentile(x, 99))
    assert s.std == pytest.approx(x.std(ddof=1) if n > 1 else 0.0)
    assert s.min <= s.median <= s.p90 <= s.p99 <= s.max


def test_summary_refuses_empty_and_non_finite() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        summarize([])
    with pytest.raises(ValueError, match="finite"):
        summarize([1.0, float("nan")])


def test_fps_counts_images() -> None:
    assert fps(10.0) == pytest.approx(100.0)
    assert fps(10.0, batch=4) == pytest.approx(400.0)
    with pytest.raises(ValueError):
        fps(0.0)


def test_paired_ratio_cancels_common_drift() -> None:
    drift = np.linspace(1.0, 3.0, 50)  # the machine slows down during the run, for both models alike
    base, other = 10.0 * drift, 5.0 * drift
    assert paired_ratio(other.tolist(), base.tolist()) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        paired_ratio([1.0], [1.0, 2.0])
