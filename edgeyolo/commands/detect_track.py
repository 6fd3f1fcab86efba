"""`edgeyolo detect --track`: identities, trails, a counting line and a zone on top of detection."""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from edgeyolo.commands.track_args import add_tracker_options, build_tracker, method_choices
from edgeyolo.errors import EdgeYoloError
from edgeyolo.runtime.annotate import Trails, draw_line_counter, draw_zone_counter
from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.tracking import LineCounter, TrackingError, ZoneCounter


def add_track_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--track",
        nargs="?",
        const="bytetrack",
        choices=method_choices(),
        help="follow objects across frames: a tracker id per box, trails in --save / --show, "
        "tracker_id in --json (method: bytetrack; lower --conf, e.g. 0.1, feeds its second stage)",
    )
    p.add_argument("--line", type=_numbers(4), metavar="X1,Y1,X2,Y2", help="with --track: count crossings")
    p.add_argument("--zone", type=_numbers(None), metavar="X,Y,X,Y,...", help="with --track: count occupancy")
    add_tracker_options(p)


def _numbers(count: int | None):
    def parse(text: str) -> list[float]:
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            values = []
        ok = values and all(math.isfinite(v) for v in values)
        if not ok or (count and len(values) != count) or (not count and (len(values) < 6 or len(values) % 2)):
            want = f"{count} numbers" if count else "at least 3 x,y points"
            raise argparse.ArgumentTypeError(f"expected {want} separated by commas, got {text!r}")
        return values

    return parse


class TrackedView:
    """One tracker (and optional line and zone) for one detect run."""

    def __init__(self, args: argparse.Namespace, fps: float | None) -> None:
        self.tracker = build_tracker(args.track, args, fps or 30.0)
        self.trails = Trails()
        self.line = self.zone = None
        try:
            if args.line:
                self.line = LineCounter(args.line[:2], args.line[2:])
        except TrackingError as exc:
            raise EdgeYoloError(f"--line: {exc}") from exc
        try:
            if args.zone:
                self.zone = ZoneCounter(np.reshape(args.zone, (-1, 2)), frame_rate=fps or 30.0)
        except TrackingError as exc:
            raise EdgeYoloError(f"--zone: {exc}") from exc
        self._checked = False
        self.identities: set[int] = set()

    def update(self, image: np.ndarray, dets: Detections) -> Detections:
        if not self._checked and self.line is not None:
            h, w = image.shape[:2]
            try:
                self.line.check_frame(w, h)
            except TrackingError as exc:
                raise EdgeYoloError(f"--line: {exc}") from exc
        self._checked = True
        tracked = self.tracker.update(dets)
        self.identities.update(tracked.tracker_id.tolist())
        self.trails.update(tracked)
        if self.line is not None:
            self.line.update(tracked)
        if self.zone is not None:
            self.zone.update(tracked)
        return tracked

    def draw(self, image: np.ndarray) -> np.ndarray:
        """Trails, line and zone on an annotated frame (in place)."""
        self.trails.draw(image, copy=False)
        if self.line is not None:
            draw_line_counter(image, self.line, copy=False)
        if self.zone is not None:
            draw_zone_counter(image, self.zone, copy=False)
        return image

    def counts(self, names: tuple[str, ...]) -> dict[str, Any]:
        """What --json lines carry beside the detections."""
        out: dict[str, Any] = {}
        if self.line is not None:
            per_class = {_name(names, c): v for c, v in sorted(self.line.counts.items())}
            out["line"] = {"in": self.line.in_count, "out": self.line.out_count, "per_class": per_class}
        if self.zone is not None:
            occupancy = {_name(names, c): v for c, v in sorted(self.zone.occupancy.items())}
            out["zone"] = {"count": self.zone.count, "entered": self.zone.entered, "per_class": occupancy}
        return out

    def summary(self, names: tuple[str, ...]) -> str:
        parts = [f"{len(self.identities)} identities"]
        if self.line is not None:
            per = ", ".join(
                f"{_name(names, c)} {v['in']}/{v['out']}" for c, v in sorted(self.line.counts.items())
            )
            parts.append(
                f"line: in {self.line.in_count}, out {self.line.out_count}" + (f" ({per})" if per else "")
            )
        if self.zone is not None:
            parts.append(f"zone: {self.zone.entered} entered, {self.zone.count} inside at the end")
        return "; ".join(parts)


def _name(names: tuple[str, ...], class_id: int) -> str:
    return names[class_id] if 0 <= class_id < len(names) else str(class_id)
