"""HOTA, CLEAR (MOTA, ID switches) and Identity (IDF1) through Roboflow `trackers`' port of TrackEval.

`trackers` is installed without its dependencies (``pip install --no-deps trackers``: the wheel asks for
opencv-python, a second OpenCV beside the headless one, and supervision). Its package ``__init__``
imports those, but the metric modules ``trackers.eval.{box,clear,hota,identity}`` need only numpy and
scipy, so they are imported here without running that ``__init__``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeyolo.data.mot import MotRows
from edgeyolo.errors import MissingDependencyError

INSTALL = "pip install 'edgeyolo[track]' && pip install --no-deps trackers==2.6.1"
SUMMARY = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "GT", "IDSW/1k")


def trackers_eval() -> types.SimpleNamespace:
    """The modules ``trackers.eval.box``, ``.clear``, ``.hota``, ``.identity``."""
    names = ("box", "clear", "hota", "identity")
    stub = None
    if "trackers" not in sys.modules:
        spec = importlib.util.find_spec("trackers")
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependencyError(
                f"tracking evaluation needs trackers, which is not installed: {INSTALL}"
            )
        stub = types.ModuleType("trackers")
        stub.__path__ = list(spec.submodule_search_locations)
        sys.modules["trackers"] = stub
    try:
        modules = {n: importlib.import_module(f"trackers.eval.{n}") for n in names}
    except ImportError as exc:
        raise MissingDependencyError(
            f"tracking evaluation cannot import trackers.eval ({exc}): {INSTALL}"
        ) from exc
    finally:
        if stub is not None and sys.modules.get("trackers") is stub:
            del sys.modules["trackers"]  # a later `import trackers` runs the real package
    return types.SimpleNamespace(**modules)


@dataclass
class SequenceMetrics:
    """TrackEval's three metric families of one sequence (or of several combined)."""

    name: str
    clear: dict[str, Any]
    hota: dict[str, Any]
    identity: dict[str, Any]

    def summary(self) -> dict[str, float | int]:
        """The figures of the report: HOTA, DetA, AssA, MOTA, IDF1 (0-1), ID switches, GT boxes, and
        ID switches per 1,000 ground-truth boxes."""
        gt = int(self.clear["CLR_TP"] + self.clear["CLR_FN"])
        idsw = int(self.clear["IDSW"])
        return {
            "HOTA": _scalar(self.hota["HOTA"]),
            "DetA": _scalar(self.hota["DetA"]),
            "AssA": _scalar(self.hota["AssA"]),
            "MOTA": float(self.clear["MOTA"]),
            "IDF1": float(self.identity["IDF1"]),
            "IDSW": idsw,
            "GT": gt,
            "IDSW/1k": 1000.0 * idsw / gt if gt else 0.0,
        }


def _scalar(value: Any) -> float:
    """HOTA's figures are arrays over 19 IoU thresholds; the reported figure is their mean."""
    return float(np.mean(value))


def evaluate(name: str, gt: MotRows, result: MotRows, frames: int, threshold: float = 0.5) -> SequenceMetrics:
    """Score tracker ``result`` rows against ``gt`` rows over frames 1..``frames`` (TrackEval matching:
    IoU of the boxes, ids re-indexed; result rows with a negative id are left out)."""
    te = trackers_eval()
    result = result.select(result.track_id >= 0)
    gt_map = {v: k for k, v in enumerate(np.unique(gt.track_id).tolist())}
    tr_map = {v: k for k, v in enumerate(np.unique(result.track_id).tolist())}
    gt_ids, tr_ids, sims = [], [], []
    for f in range(1, frames + 1):
        g, t = gt.at(f), result.at(f)
        gt_ids.append(np.array([gt_map[i] for i in g.track_id.tolist()], np.intp))
        tr_ids.append(np.array([tr_map[i] for i in t.track_id.tolist()], np.intp))
        sims.append(te.box.box_iou(g.xyxy, t.xyxy, box_format="xyxy"))
    return SequenceMetrics(
        name,
        te.clear.compute_clear_metrics(gt_ids, tr_ids, sims, threshold=threshold),
        te.hota.compute_hota_metrics(gt_ids, tr_ids, sims),
        te.identity.compute_identity_metrics(gt_ids, tr_ids, sims, threshold=threshold),
    )


def combine(sequences: list[SequenceMetrics], name: str = "COMBINED") -> SequenceMetrics:
    """TrackEval's combination over sequences (sums of counts, ratios recomputed)."""
    te = trackers_eval()
    return SequenceMetrics(
        name,
        te.clear.aggregate_clear_metrics([s.clear for s in sequences]),
        te.hota.aggregate_hota_metrics([s.hota for s in sequences]),
        te.identity.aggregate_identity_metrics([s.identity for s in sequences]),
    )


def format_table(rows: list[tuple[str, dict[str, float | int]]]) -> str:
    """A text table of summaries, one row per (name, summary)."""
    width = max([len("sequence"), *(len(n) for n, _ in rows)])
    head = f"{'sequence':<{width}}" + "".join(f"{k:>9}" for k in SUMMARY)
    lines = [head, "-" * len(head)]
    for name, s in rows:
        cells = "".join(f"{s[k]:>9d}" if isinstance(s[k], int) else f"{s[k]:>9.3f}" for k in SUMMARY)
        lines.append(f"{name:<{width}}" + cells)
    return "\n".join(lines)
