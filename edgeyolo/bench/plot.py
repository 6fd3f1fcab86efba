"""`--plot F.png`: latency distribution per model and stage, and latency against mAP when --data was given
(matplotlib, imported here only: `pip install 'edgeyolo[plot]'`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edgeyolo.bench.harness import STAGES, ModelResult

__all__ = ["plot_results"]

_TITLES = {"letterbox": "letterbox", "inference": "inference", "postprocess": "decode + NMS",
           "end_to_end": "end to end"}  # fmt: skip


def plot_results(path: str | Path, results: Sequence[ModelResult]) -> None:
    """Write a PNG: one box plot per stage (models side by side) and, with accuracy, e2e latency vs mAP."""
    from edgeyolo.errors import require

    require("matplotlib", "plot", "`edgeyolo bench --plot`")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizontal = {"orientation": "horizontal"}  # matplotlib >= 3.10; `vert=False` before
    if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) < (3, 10):
        horizontal = {"vert": False}
    with_acc = any(r.accuracy for r in results)
    panels = len(STAGES) + (1 if with_acc else 0)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 1.6 + 0.45 * len(results)), squeeze=False)
    names = [r.name for r in results]
    for ax, stage in zip(axes[0], STAGES, strict=False):
        data = [r.samples_ms[stage] for r in results]
        ax.boxplot(data, whis=(1, 99), **horizontal)
        ax.set_yticks(range(1, len(results) + 1), names if stage == STAGES[0] else [""] * len(names))
        ax.invert_yaxis()
        ax.set_title(_TITLES[stage])
        ax.set_xlabel("ms per call")
        ax.grid(axis="x", alpha=0.3)
    if with_acc:
        ax = axes[0][-1]
        for r in results:
            if r.accuracy:
                ax.scatter(r.stages["end_to_end"].median, r.accuracy["map50_95"])
                ax.annotate(r.name, (r.stages["end_to_end"].median, r.accuracy["map50_95"]), fontsize=7)
        ax.set_xlabel("end-to-end median ms")
        ax.set_ylabel("mAP50-95")
        ax.set_title("latency vs accuracy")
        ax.grid(alpha=0.3)
    fig.suptitle("whiskers: p1-p99", fontsize=8, x=0.99, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
