"""TrackEval's metrics through trackers.eval, imported without the package's opencv-python/supervision."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgeyolo.data.mot import MotRows
from edgeyolo.mot_eval.metrics import combine, evaluate, format_table


def two_objects(frames: int = 10, swap_at: int | None = None) -> MotRows:
    """Two objects side by side; with ``swap_at``, their identities swap from that frame on."""
    parts = []
    for f in range(1, frames + 1):
        ids = [1, 2] if swap_at is None or f < swap_at else [2, 1]
        boxes = np.array([[10 + f, 10, 40 + f, 40], [100 + f, 10, 130 + f, 40]], np.float64)
        parts.append(
            MotRows(np.full(2, f), np.array(ids), boxes, np.ones(2), np.ones(2), np.zeros(2, np.int64))
        )
    return MotRows.concat(parts)


def test_perfect_tracking_scores_one():
    m = evaluate("s", two_objects(), two_objects(), 10).summary()
    assert m["IDF1"] == pytest.approx(1) and m["MOTA"] == pytest.approx(1) and m["IDSW"] == 0
    assert m["HOTA"] == pytest.approx(1, abs=1e-6) and m["GT"] == 20


def test_a_swap_costs_two_switches_and_identity():
    m = evaluate("s", two_objects(), two_objects(swap_at=6), 10).summary()
    assert m["IDSW"] == 2 and m["IDSW/1k"] == pytest.approx(100.0) and m["IDF1"] == pytest.approx(0.5)
    both = combine(
        [
            evaluate("a", two_objects(), two_objects(), 10),
            evaluate("b", two_objects(), two_objects(swap_at=6), 10),
        ]
    )
    assert both.summary()["IDSW"] == 2 and both.summary()["GT"] == 40
    assert "COMBINED" in format_table([("COMBINED", both.summary())])


def test_unconfirmed_rows_are_left_out_and_missing_frames_count_as_misses():
    result = two_objects()
    result.track_id[result.frame == 3] = -1
    m = evaluate("s", two_objects(), result, 12).summary()
    assert m["GT"] == 20 and m["MOTA"] == pytest.approx(18 / 20)


def test_the_real_trackers_package_still_imports_afterwards():
    code = (
        "import sys\n"
        "from edgeyolo.mot_eval.metrics import trackers_eval\n"
        "trackers_eval()\n"
        "assert 'trackers' not in sys.modules and 'trackers.eval.hota' in sys.modules\n"
        "assert 'supervision' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
