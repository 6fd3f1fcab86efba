"""Benchmark: what `Tracker.update` costs per frame with 10, 50 and 200 objects in view.

Objects move across a 1280x720 frame with jitter, 10 % missed detections, 5 % false positives and some
low-confidence boxes (ByteTrack's second stage runs). Each object count is timed interleaved with the
others; with Roboflow `trackers` importable (a throwaway environment: it needs opencv-python and
supervision), its ByteTrack runs side by side on the same detections and the ratio is printed.
Asserts nothing. Run: ``python benchmarks/bench_tracker.py [--frames 300]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from edgeyolo.runtime import Detections, Tracker

W, H = 1280, 720


def stream(objects: int, frames: int, seed: int = 0) -> list[Detections]:
    """Detections of ``objects`` boxes bouncing around the frame."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 0], [W - 80, H - 80], (objects, 2))
    vel = rng.normal(0, 4, (objects, 2))
    size = rng.uniform(20, 80, (objects, 2))
    out = []
    for _ in range(frames):
        pos += vel
        bounce = (pos < 0) | (pos > [W - 80, H - 80])
        vel[bounce] *= -1
        seen = rng.random(objects) > 0.1
        boxes = np.concatenate([pos, pos + size], 1)[seen] + rng.normal(0, 2, (seen.sum(), 4))
        n_fp = rng.binomial(objects, 0.05)
        fp_xy = rng.uniform([0, 0], [W - 60, H - 60], (n_fp, 2))
        boxes = np.concatenate([boxes, np.concatenate([fp_xy, fp_xy + 40], 1)])
        conf = np.where(
            rng.random(len(boxes)) < 0.2, rng.uniform(0.2, 0.6, len(boxes)), rng.uniform(0.6, 1.0, len(boxes))
        )
        out.append(
            Detections(boxes.astype(np.float32), conf.astype(np.float32), rng.integers(0, 3, len(boxes)))
        )
    return out


def reference_tracker():
    """`trackers`' ByteTrack and a converter, or None where it is not installed."""
    try:
        import supervision as sv
        from trackers import ByteTrackTracker
    except ImportError:
        return None
    return ByteTrackTracker, lambda d: sv.Detections(
        xyxy=d.xyxy, confidence=d.confidence, class_id=d.class_id
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--objects", type=int, nargs="+", default=[10, 50, 200])
    args = parser.parse_args()
    reference = reference_tracker()
    streams = {n: stream(n, args.frames) for n in args.objects}
    ours = {n: Tracker() for n in args.objects}
    theirs = {n: reference[0]() for n in args.objects} if reference else {}
    converted = {n: [reference[1](d) for d in s] for n, s in streams.items()} if reference else {}
    times: dict[tuple[str, int], list[float]] = {}
    for f in range(args.frames):  # interleaved: every tracker sees the machine's state alike
        for n in args.objects:
            t = time.perf_counter()
            ours[n].update(streams[n][f])
            times.setdefault(("edgeyolo", n), []).append(time.perf_counter() - t)
            if reference:
                t = time.perf_counter()
                theirs[n].update(converted[n][f])
                times.setdefault(("trackers", n), []).append(time.perf_counter() - t)
    cpu = platform.processor() or platform.machine()
    print(f"# Tracker.update, ms per frame (median, p90) over {args.frames} frames; {cpu}")
    for n in args.objects:
        mine = sorted(times[("edgeyolo", n)][20:])  # the first frames fill the track list
        p90 = mine[int(0.9 * len(mine))]
        line = f"{n:4d} objects: edgeyolo {1e3 * statistics.median(mine):.3f} ms, p90 {1e3 * p90:.3f} ms"
        if reference:
            ref = sorted(times[("trackers", n)][20:])
            ratio = statistics.median(ref) / statistics.median(mine)
            line += f"; trackers {1e3 * statistics.median(ref):.3f} ms ({ratio:.1f}x edgeyolo's time)"
        print(line)


if __name__ == "__main__":
    main()
