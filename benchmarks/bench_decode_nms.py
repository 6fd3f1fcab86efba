"""Benchmark: decode + NMS of a 640x640, 80-class, 3-level YOLOv5 head (25,200 candidates).

Compares, interleaved in one process, edgeyolo's `decode_raw` + `nms` with the straightforward
approach (sigmoid over every value, obj * cls, filter, then ``cv2.dnn.NMSBoxesBatched``).
Prints medians and ratios; asserts nothing. Run: ``python benchmarks/bench_decode_nms.py``.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import cv2
import numpy as np

from edgeyolo.runtime import Contract, decode_raw, nms

IMGSZ = 640
STRIDES = (8, 16, 32)
ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))
NC = 80
NA = 3
IOU = 0.45
MAX_DET = 300


def make_contract() -> Contract:
    """The contract of the synthetic model."""
    return Contract(
        names=tuple(f"class{i}" for i in range(NC)),
        strides=STRIDES,
        anchors=tuple(tuple(float(v) for v in a) for a in ANCHORS),
        imgsz=(IMGSZ, IMGSZ),
    )


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def make_outputs(seed: int = 0, n_objects: int = 25) -> list[np.ndarray]:
    """Realistic raw logits: background objectness ~ N(-8, 2); a few hundred positive cells.

    Each synthetic object lights up three cells around its centre for every anchor it matches,
    with boxes near the object's box and a high logit for its class, as a trained head does.
    """
    rng = np.random.default_rng(seed)
    no = 5 + NC
    outs = []
    objects = []
    for _ in range(n_objects):
        w, h = rng.uniform(20, 300, 2)
        cx, cy = rng.uniform(w / 2, IMGSZ - w / 2), rng.uniform(h / 2, IMGSZ - h / 2)
        objects.append((cx, cy, w, h, int(rng.integers(NC))))
    for stride, anchors in zip(STRIDES, ANCHORS, strict=True):
        g = IMGSZ // stride
        v = np.empty((1, NA, no, g, g), dtype=np.float32)
        v[:, :, :4] = rng.normal(0.0, 1.0, (1, NA, 4, g, g))
        v[:, :, 4] = rng.normal(-8.0, 2.0, (1, NA, g, g))
        v[:, :, 5:] = rng.normal(-4.0, 2.0, (1, NA, NC, g, g))
        for cx, cy, w, h, cls in objects:
            gx0, gy0 = int(cx / stride), int(cy / stride)
            for a in range(NA):
                aw, ah = anchors[2 * a], anchors[2 * a + 1]
                ratio = max(w / aw, aw / w, h / ah, ah / h)
                if ratio > 4.0:  # the YOLOv5 anchor-matching rule
                    continue
                # the cell holding the centre and its nearest neighbours in x and in y (YOLOv5's rule)
                fx, fy = cx / stride - gx0, cy / stride - gy0
                cells = [
                    (gx0, gy0),
                    (gx0 + (1 if fx > 0.5 else -1), gy0),
                    (gx0, gy0 + (1 if fy > 0.5 else -1)),
                ]
                for gx, gy in cells:
                    if not (0 <= gx < g and 0 <= gy < g):
                        continue
                    sx = (cx / stride - gx + 0.5) / 2 + rng.normal(0, 0.02)
                    sy = (cy / stride - gy + 0.5) / 2 + rng.normal(0, 0.02)
                    sw = np.sqrt(w / aw) / 2 * rng.normal(1, 0.05)
                    sh = np.sqrt(h / ah) / 2 * rng.normal(1, 0.05)
                    v[0, a, :4, gy, gx] = _logit(np.clip([sx, sy, sw, sh], 0.01, 0.99))
                    v[0, a, 4, gy, gx] = rng.normal(2.0, 1.5)
                    v[0, a, 5 + cls, gy, gx] = rng.normal(3.0, 1.0)
        outs.append(v.reshape(1, NA * no, g, g))
    return outs


def ours(outputs: list[np.ndarray], contract: Contract, conf: float) -> np.ndarray:
    """edgeyolo: logit-space threshold, sigmoid on survivors, numpy NMS."""
    cand = decode_raw(outputs, contract, conf=conf)[0]
    keep = nms(cand.xyxy, cand.score, cand.class_id, IOU, MAX_DET)
    return np.concatenate([cand.xyxy[keep], cand.score[keep, None], cand.class_id[keep, None]], axis=1)


def straightforward(outputs: list[np.ndarray], contract: Contract, conf: float) -> np.ndarray:
    """Sigmoid over every value, decode every box, obj * cls, filter, cv2.dnn.NMSBoxesBatched."""
    no = 5 + NC
    preds = []
    for out, stride, anchors in zip(outputs, contract.strides, contract.anchors, strict=True):
        b, _, h, w = out.shape
        p = 1.0 / (1.0 + np.exp(-out.reshape(b, NA, no, h, w).transpose(0, 1, 3, 4, 2)))
        gy, gx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        grid = np.stack([gx, gy], axis=-1).reshape(1, 1, h, w, 2).astype(np.float32)
        anchor = np.asarray(anchors, dtype=np.float32).reshape(1, NA, 1, 1, 2)
        xy = (p[..., :2] * 2 - 0.5 + grid) * stride
        wh = (p[..., 2:4] * 2) ** 2 * anchor
        preds.append(np.concatenate([xy, wh, p[..., 4:]], axis=-1).reshape(b, -1, no))
    pred = np.concatenate(preds, axis=1)[0]
    scores = pred[:, 5:] * pred[:, 4:5]
    cls = scores.argmax(axis=1)
    score = scores[np.arange(scores.shape[0]), cls]
    m = score >= conf
    xywh, score, cls = pred[m, :4], score[m], cls[m]
    tlwh = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, 2:]], axis=1)
    keep = np.asarray(cv2.dnn.NMSBoxesBatched(tlwh, score, cls, conf, IOU), dtype=np.int64).reshape(-1)
    keep = keep[:MAX_DET]
    xyxy = np.concatenate([tlwh[keep, :2], tlwh[keep, :2] + tlwh[keep, 2:]], axis=1)
    return np.concatenate([xyxy, score[keep, None], cls[keep, None]], axis=1)


def _agree(a: np.ndarray, b: np.ndarray) -> str:
    """Whether two [N, 6] detection sets hold the same boxes, scores and classes (any order)."""
    if a.shape != b.shape:
        return f"no ({len(a)} vs {len(b)})"
    a, b = a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])]
    return "yes" if np.allclose(a, b, rtol=1e-4, atol=1e-2) else "no (values differ)"


def bench(
    fns: dict[str, Callable[[], object]], runs: int, interleaved: bool = True, warmup: int = 10
) -> dict[str, np.ndarray]:
    """Timings (ms) of each function, ``runs`` times each: interleaved (a, b, a, b, ...) or each
    back to back (a, a, ..., b, b, ...)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {k: np.empty(runs) for k in fns}
    order = (
        [(i, k) for i in range(runs) for k in fns]
        if interleaved
        else [(i, k) for k in fns for i in range(runs)]
    )
    for i, k in order:
        fn = fns[k]
        t0 = time.perf_counter()
        fn()
        times[k][i] = (time.perf_counter() - t0) * 1e3
    return times


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    contract = make_contract()
    outputs = make_outputs()
    n = sum(o.shape[2] * o.shape[3] for o in outputs) * NA
    positive = sum(int((o.reshape(1, NA, 5 + NC, *o.shape[2:])[:, :, 4] > 0).sum()) for o in outputs)
    print(f"python {platform.python_version()}, numpy {np.__version__}, opencv {cv2.__version__}")
    print(f"{n} candidates (640x640, 80 classes, strides {STRIDES}), {positive} cells with obj logit > 0")
    print(f"{args.runs} runs each, iou {IOU}, max_det {MAX_DET}")
    for interleaved in (True, False):
        if interleaved:
            print("\ninterleaved (ours, straightforward, ours, ...): each call follows the other method,")
            print("which streams >100 MB, so ours runs with cold caches")
        else:
            print("\neach method back to back (warm caches)")
        print(f"{'conf':>6} {'method':<16} {'median ms':>10} {'p90 ms':>8} {'dets':>5}")
        for conf in (0.25, 0.001):
            fns = {
                "ours": lambda c=conf: ours(outputs, contract, c),
                "straightforward": lambda c=conf: straightforward(outputs, contract, c),
            }
            results = {k: fn() for k, fn in fns.items()}
            dets = {k: len(r) for k, r in results.items()}
            if interleaved:
                print(f"{conf:>6} same detections: {_agree(*results.values())}")
            times = bench(fns, args.runs, interleaved)
            med = {k: float(np.median(t)) for k, t in times.items()}
            for k, t in times.items():
                print(f"{conf:>6} {k:<16} {med[k]:>10.3f} {np.percentile(t, 90):>8.3f} {dets[k]:>5}")
            print(f"{conf:>6} {'ratio':<16} {med['straightforward'] / med['ours']:>9.1f}x")


if __name__ == "__main__":
    main()
