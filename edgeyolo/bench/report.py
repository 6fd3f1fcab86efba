"""Writing results: a terminal table, JSON (every figure, raw samples and the environment), CSV (one row per
model and stage) and Markdown (the table)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgeyolo.bench.harness import TRACK_STAGES, ModelResult

__all__ = ["SCHEMA", "format_table", "to_json", "write_csv", "write_json", "write_markdown"]

SCHEMA = "edgeyolo.bench/1"


def _runs_on(r: ModelResult) -> str:
    """Where and in what precision the model's float parts ran, as the backend reported it."""
    d = r.details
    where = d["providers"].split(",")[0].replace("ExecutionProvider", "") if "providers" in d else None
    where = where or d.get("device") or r.device
    return f"{where} {d.get('precision', '')}".strip()


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _rows(results: Sequence[ModelResult]) -> tuple[list[str], list[list[str]]]:
    acc = any(r.accuracy for r in results)
    power = any(r.power for r in results)
    track = any("track" in r.stages for r in results)
    head = [
        "model",
        "runs on",
        "imgsz",
        "batch",
        "letterbox",
        "inference",
        "decode+nms",
        *(["track"] if track else []),
        "e2e median",
        "e2e p90",
        "e2e p99",
        "FPS",
        "speed-up e2e/inf",
        "size MB",
        "RSS+ MB",
    ]
    if acc:
        head += ["mAP50-95", "mAP50"]
    if power:
        head += ["W", "mJ/img", "GPU %"]
    rows = []
    for r in results:
        s = r.stages
        e2e = s["end_to_end"]
        row = [
            r.name,
            _runs_on(r),
            f"{r.imgsz[0]}x{r.imgsz[1]}",
            str(r.batch),
            _num(s["letterbox"].median),
            _num(s["inference"].median),
            _num(s["postprocess"].median),
            *([_num(s["track"].median if "track" in s else None)] if track else []),
            _num(e2e.median),
            _num(e2e.p90),
            _num(e2e.p99),
            _num(r.fps, ".1f"),
            f"{_num(r.speedup.get('end_to_end'))}x / {_num(r.speedup.get('inference'))}x",
            _num(r.file_mb, ".2f"),
            _num(r.rss_load_mb, ".0f"),
        ]
        if acc:
            a = r.accuracy or {}
            row += [_num(a.get("map50_95"), ".4f"), _num(a.get("map50"), ".4f")]
        if power:
            p = r.power or {}
            row += [_num(p.get("avg_w")), _num(p.get("mj_per_frame"), ".1f"), _num(p.get("gpu_util"), ".0f")]
        rows.append(row)
    return head, rows


def format_table(results: Sequence[ModelResult], iters_note: str = "") -> str:
    """A fixed-width table for the terminal: median ms per stage, tail latency, FPS, speed-up."""
    head, rows = _rows(results)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )
    out = [line(head), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    out.append(
        "ms per call (median unless noted); speed-up = median of per-round ratios (baseline time / this "
        f"row's time), end to end and inference, baseline: {results[0].baseline if results else '-'}"
        + (f"; {iters_note}" if iters_note else "")
    )
    return "\n".join(out)


def to_json(results: Sequence[ModelResult], environment: dict[str, Any], settings: dict[str, Any]) -> dict:
    """The whole run as one JSON-ready dict."""
    return {
        "schema": SCHEMA,
        "settings": settings,
        "environment": environment,
        "models": [r.to_dict() for r in results],
    }


def write_json(path: str | Path, document: dict) -> None:
    """Write `document` (from `to_json`) to `path`."""
    Path(path).write_text(json.dumps(document, indent=2, default=str) + "\n")


def write_csv(path: str | Path, results: Sequence[ModelResult]) -> None:
    """One row per model and stage, with every statistic and the model-level figures."""
    fields = [
        "model",
        "path",
        "backend",
        "device",
        "runs_on",
        "precision",
        "imgsz",
        "batch",
        "stage",
        "n",
        "min",
        "median",
        "mean",
        "p90",
        "p99",
        "max",
        "std",
        "fps",
        "ratio_to_first",
        "speedup",
        "rss_load_mb",
        "file_mb",
        "map50_95",
        "map50",
        "avg_w",
        "mj_per_frame",
    ]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in results:
            for stage in (st for st in TRACK_STAGES if st in r.stages):
                s = r.stages[stage].to_dict()
                w.writerow(
                    {
                        "model": r.name,
                        "path": r.path,
                        "backend": r.backend,
                        "device": r.device,
                        "runs_on": _runs_on(r),
                        "precision": r.precision,
                        "imgsz": f"{r.imgsz[0]}x{r.imgsz[1]}",
                        "batch": r.batch,
                        "stage": stage,
                        **s,
                        "fps": r.fps,
                        "ratio_to_first": r.ratio,
                        "speedup": r.speedup.get(stage),
                        "rss_load_mb": r.rss_load_mb,
                        "file_mb": r.file_mb,
                        "map50_95": (r.accuracy or {}).get("map50_95"),
                        "map50": (r.accuracy or {}).get("map50"),
                        "avg_w": (r.power or {}).get("avg_w"),
                        "mj_per_frame": (r.power or {}).get("mj_per_frame"),
                    }
                )


def markdown_table(results: Sequence[ModelResult]) -> str:
    """The terminal table as a Markdown table."""
    head, rows = _rows(results)
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_markdown(
    path: str | Path, results: Sequence[ModelResult], environment: dict[str, Any], settings: dict[str, Any]
) -> None:
    """The table with a short description of the machine and the settings."""
    cpu = environment.get("cpu", {})
    libs = environment.get("libraries", {})
    lines = [
        "# edgeyolo bench",
        "",
        f"- CPU: {cpu.get('model')} ({cpu.get('usable_cores')} usable of {cpu.get('logical_cores')} cores; "
        f"flags: {' '.join(cpu.get('flags', [])) or '-'})",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()),
    ]
    if environment.get("gpu"):
        lines.append("- GPU: " + "; ".join(", ".join(str(v) for v in g.values()) for g in environment["gpu"]))
    if environment.get("jetson"):
        j = environment["jetson"]
        lines.append(
            f"- Jetson: {j.get('model')}, L4T {(j.get('release') or {}).get('l4t')}, "
            f"nvpmodel {(j.get('nvpmodel') or {}).get('name')}, clocks locked: "
            f"{(j.get('clocks') or {}).get('locked')}"
        )
    lines.append("- settings: " + ", ".join(f"{k}={v}" for k, v in settings.items() if v is not None))
    lines += [
        "",
        markdown_table(results),
        "",
        "ms per call (median unless noted); speed-up = median of per-round ratios (baseline time / this "
        f"row's time), end to end and inference; baseline: {results[0].baseline if results else '-'}.",
        "",
    ]
    Path(path).write_text("\n".join(lines))
