"""`edgeyolo detect`: run a model on images, folders, videos, webcams or network streams (no torch needed
unless the model is a `.pt` checkpoint)."""

from __future__ import annotations

import argparse
import sys
import time

from edgeyolo.commands.common import add_precision_arg
from edgeyolo.commands.detect_track import TrackedView, add_track_args
from edgeyolo.errors import EdgeYoloError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect", help="detect objects in images, videos, cameras or streams")
    p.add_argument(
        "--model", help="exported model (.onnx, .xml) or checkpoint (.pt); default: the shipped model"
    )
    p.add_argument(
        "--source",
        required=True,
        help="image, folder, glob, video file, webcam index, or rtsp:// / http:// URL",
    )
    p.add_argument("--conf", type=float, default=0.25, help="score threshold")
    p.add_argument("--iou", type=float, default=0.45, help="NMS IoU threshold")
    p.add_argument("--max-det", type=int, default=300, help="detections per image")
    p.add_argument("--classes", type=_class_list, help="only these class ids, e.g. 0,2")
    p.add_argument("--backend", default="auto", choices=["auto", "onnxruntime", "openvino", "torch"])
    add_precision_arg(p)
    p.add_argument(
        "--device", default="cpu", help="cpu, cuda[:N], gpu, tensorrt (onnxruntime), NPU/AUTO (openvino)"
    )
    p.add_argument("--save", metavar="DIR", help="write annotated images (or an annotated video) here")
    p.add_argument("--save-txt", action="store_true", help="with --save: YOLO labels (class cx cy w h conf)")
    p.add_argument("--json", action="store_true", help="one JSON line per frame on stdout")
    p.add_argument("--show", action="store_true", help="show a window (needs a GUI build of OpenCV)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames (useful for streams)")
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="give up on a camera or stream that sends no first frame within this time (default 30; "
        "0: keep trying forever)",
    )
    add_track_args(p)


def _class_list(text: str) -> list[int]:
    try:
        return [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--classes takes integers like 0,2, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from edgeyolo.commands.detect_output import Outputs
    from edgeyolo.runtime import Detector
    from edgeyolo.runtime.sources import open_source

    if not args.model:
        from edgeyolo.defaults import shipped_onnx

        args.model = str(shipped_onnx())
    if args.save_txt and not args.save:
        raise EdgeYoloError("--save-txt needs --save DIR")
    if not args.track and (args.line or args.zone):
        raise EdgeYoloError("--line and --zone count tracked objects: add --track")
    detector = _load(args, Detector)
    warnings_seen: list[str] = []

    def warn(message: str) -> None:
        warnings_seen.append(message)
        print(f"warning: {message}", file=sys.stderr)

    try:
        source = open_source(args.source, on_warning=warn, connect_timeout=args.connect_timeout or None)
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise EdgeYoloError(f"cannot open source {args.source!r}: {exc}") from exc
    frames = n_dets = 0
    start = time.perf_counter()
    track = TrackedView(args, getattr(source, "fps", None)) if args.track else None
    with detector, source, Outputs(args, source, detector.names, track) as out:
        for frame in out.progress(source):  # a stream without a first frame raises SourceConnectError
            dets = detector.detect(frame.image)
            if track is not None:
                dets = track.update(frame.image, dets)
            out.write(frame, dets)
            frames, n_dets = frames + 1, n_dets + len(dets)
            if args.max_frames and frames >= args.max_frames:
                break
    elapsed = time.perf_counter() - start
    if frames == 0:
        raise EdgeYoloError(f"no readable frames in {args.source!r}")
    ran = " ".join(filter(None, (detector.backend.name, detector.backend.details.get("precision"))))
    print(
        f"{frames} frames, {n_dets} detections, {1e3 * elapsed / frames:.1f} ms/frame "
        f"({frames / elapsed:.1f} FPS, {ran}){f'; results in {out.directory}' if args.save else ''}",
        file=sys.stderr,
    )
    if track is not None:
        print(f"tracking: {track.summary(detector.names)}", file=sys.stderr)
    return 0


def _load(args: argparse.Namespace, detector_cls):
    from edgeyolo.runtime import BackendError, ContractError

    try:
        return detector_cls(
            args.model,
            backend=args.backend,
            device=args.device,
            conf=args.conf,
            iou=args.iou,
            max_det=args.max_det,
            classes=args.classes,
            precision=args.precision,
        )
    except FileNotFoundError as exc:
        raise EdgeYoloError(str(exc)) from exc
    except (BackendError, ContractError, ValueError) as exc:
        raise EdgeYoloError(f"cannot load {args.model}: {exc}") from exc
