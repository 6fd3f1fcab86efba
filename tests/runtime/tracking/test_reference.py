"""edgeyolo's ByteTrack against Roboflow `trackers`' ByteTrack on recorded detection streams.

The fixtures (detections in, the identities `trackers` 2.6.1 gave out) were made by
tests/fixtures/tracking/make_bytetrack_reference.py in a throwaway environment.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeyolo.data.mot import MotRows
from edgeyolo.mot_eval.metrics import evaluate
from edgeyolo.runtime import Detections
from edgeyolo.runtime.tracking import Tracker

FIXTURE = Path(__file__).parents[2] / "fixtures" / "tracking" / "bytetrack_reference.npz"


# `trackers` matches across classes, tracks duplicate boxes, and trusts detections to 0.1 px²
AS_TRACKERS = {"class_mismatch_weight": 1.0, "duplicate_iou": 1.0, "measurement_noise": 0.1}


def load() -> tuple[dict, dict]:
    z = np.load(FIXTURE)
    return json.loads(str(z["meta"])), {k: z[k] for k in z.files if k != "meta"}


META, ARRAYS = load()


def track(name: str, **overrides) -> tuple[np.ndarray, np.ndarray]:
    """Our identities for each recorded detection (-1: none) and the reference's."""
    a = {k.split("/")[1]: v for k, v in ARRAYS.items() if k.startswith(f"{name}/")}
    scenario = META["scenarios"][name]
    tracker = Tracker(**scenario["options"], **overrides)
    ours = np.full(len(a["frame"]), -1, np.int64)
    for f in range(scenario["frames"]):
        rows = np.flatnonzero(a["frame"] == f)
        out = tracker.update(Detections(a["xyxy"][rows], a["confidence"][rows], a["class_id"][rows]))
        ours[rows[input_rows(a["xyxy"][rows], out.xyxy)]] = out.tracker_id
    return ours, a["tracker_id"], a


def input_rows(given: np.ndarray, returned: np.ndarray) -> np.ndarray:
    """Where each returned box was in the input (the tracker keeps the input order)."""
    found, j = [], 0
    for i, box in enumerate(given):
        if j < len(returned) and np.array_equal(box, returned[j]):
            found.append(i)
            j += 1
    assert j == len(returned)
    return np.array(found, np.int64)


def rows_of(ids: np.ndarray, a: dict) -> MotRows:
    keep = ids >= 0
    n = int(keep.sum())
    return MotRows(
        a["frame"][keep] + 1,
        ids[keep],
        a["xyxy"][keep].astype(np.float64),
        a["confidence"][keep].astype(np.float64),
        np.ones(n),
        np.zeros(n, np.int64),
    )


@pytest.mark.parametrize("name", sorted(META["scenarios"]))
def test_identities_match_trackers_bytetrack(name):
    ours, ref, a = track(name, **AS_TRACKERS)
    frames = META["scenarios"][name]["frames"]
    idf1 = evaluate(name, rows_of(ref, a), rows_of(ours, a), frames).identity["IDF1"]
    assert idf1 >= 0.99, f"{name}: IDF1 between edgeyolo and trackers is {idf1:.4f}"
    # the same boxes get an identity at all
    assert ((ours >= 0) == (ref >= 0)).mean() >= 0.99


def test_our_defaults_stay_close_to_the_reference():
    ours, ref, a = track("crowded_noisy")
    frames = META["scenarios"]["crowded_noisy"]["frames"]
    idf1 = evaluate("crowded_noisy", rows_of(ref, a), rows_of(ours, a), frames).identity["IDF1"]
    assert 0.8 <= idf1 <= 1.0
