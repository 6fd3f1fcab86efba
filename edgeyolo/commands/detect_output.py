"""Where `edgeyolo detect` puts its results: progress, annotated images or video, labels, JSON, a window."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from edgeyolo.errors import EdgeYoloError
from edgeyolo.runtime.annotate import draw_detections


class Outputs:
    """One per run; `write(frame, detections)` for every frame."""

    def __init__(self, args: argparse.Namespace, source, names: tuple[str, ...], track=None) -> None:
        self.args, self.source, self.names, self.track = args, source, names, track
        self.directory = Path(args.save) if args.save else None
        self.video: cv2.VideoWriter | None = None
        self.window = _open_window() if args.show else False
        if args.show and not self.window:
            print("warning: this OpenCV build has no GUI; --show ignored", file=sys.stderr)
        if self.directory:
            try:
                (self.directory / "labels" if args.save_txt else self.directory).mkdir(
                    parents=True, exist_ok=True
                )
            except OSError as exc:
                raise EdgeYoloError(f"cannot create {self.directory}: {exc.strerror or exc}") from exc

    def progress(self, frames):
        """Frames with a progress bar (count for files and videos, FPS for live streams) on stderr."""
        return tqdm(
            frames,
            total=self.source.total,
            unit="frame",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=self.args.json and not sys.stderr.isatty(),
        )

    def write(self, frame, dets) -> None:
        if self.args.json:
            record = {
                "source": frame.source,
                "index": frame.index,
                "path": frame.path,
                **json.loads(dets.to_json()),
            }
            if self.track is not None:
                record.update(self.track.counts(self.names))
            print(json.dumps(record), flush=True)
        if not (self.directory or self.window):
            return
        annotated = draw_detections(frame.image, dets)
        if self.track is not None:
            self.track.draw(annotated)
        if self.window:
            cv2.imshow("edgeyolo", annotated)
            cv2.waitKey(1)
        if self.directory:
            stem = Path(frame.path).stem if frame.path else f"frame_{frame.index:06d}"
            if frame.path and not self.source.is_video:
                cv2.imwrite(str(self.directory / Path(frame.path).name), annotated)
            else:
                self._video_frame(annotated)
            if self.args.save_txt:
                (self.directory / "labels" / f"{stem}.txt").write_text(yolo_labels(dets, frame.image.shape))

    def _video_frame(self, image: np.ndarray) -> None:
        if self.video is None:
            name = Path(str(self.args.source)).stem or "stream"
            path = self.directory / f"{name if name.isidentifier() else 'stream'}.avi"
            h, w = image.shape[:2]
            self.video = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (w, h))
        self.video.write(image)

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.video is not None:
            self.video.release()
        if self.window:
            cv2.destroyAllWindows()


def yolo_labels(dets, shape: tuple[int, ...]) -> str:
    """YOLO label lines `class cx cy w h conf`, normalised to the image size."""
    h, w = shape[:2]
    xyxy = dets.xyxy.astype(np.float64)
    cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2 / w, (xyxy[:, 1] + xyxy[:, 3]) / 2 / h
    bw, bh = (xyxy[:, 2] - xyxy[:, 0]) / w, (xyxy[:, 3] - xyxy[:, 1]) / h
    rows = zip(dets.class_id.tolist(), cx, cy, bw, bh, dets.confidence.tolist(), strict=True)
    return "".join(f"{c} {x:.6f} {y:.6f} {bw_:.6f} {bh_:.6f} {p:.5f}\n" for c, x, y, bw_, bh_, p in rows)


def _open_window() -> bool:
    try:
        cv2.namedWindow("edgeyolo", cv2.WINDOW_NORMAL)
        return True
    except cv2.error:
        return False
