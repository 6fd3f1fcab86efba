"""`edgeyolo data`: make a synthetic dataset (`synth`) or convert VOC / COCO to YOLO format (`convert`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from edgeyolo.errors import EdgeYoloError

MAX_REPORTS = 50  # problems printed one by one; the rest are counted


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="make a synthetic dataset or convert VOC / COCO to YOLO format")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    s = actions.add_parser("synth", help="write a deterministic synthetic dataset (5 shape classes)")
    s.add_argument("--out", required=True, help="output folder (created; must not exist or be empty)")
    s.add_argument("--train", type=_count, default=1000, help="number of training images")
    s.add_argument("--val", type=_count, default=200, help="number of validation images")
    s.add_argument("--seed", type=int, default=0, help="same seed → byte-identical files")
    s.add_argument(
        "--imgsz",
        type=int,
        help="image side in pixels (square; default 320, with --video 256: the shipped "
        "model's training size)",
    )
    s.add_argument("--workers", type=int, default=0, help="processes (0: one per CPU, at most 8)")
    s.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    s.add_argument(
        "--video",
        action="store_true",
        help="write tracking sequences instead: moving, occluding, entering and leaving shapes with "
        "ground-truth identities, in MOTChallenge format (--out/synth-NN/{seqinfo.ini,img1,gt/gt.txt})",
    )
    s.add_argument("--sequences", type=_count, default=4, help="with --video: number of sequences")
    s.add_argument("--frames", type=_count, default=300, help="with --video: frames per sequence")
    s.add_argument("--frame-rate", type=float, default=30.0, help="with --video: frames per second")

    c = actions.add_parser("convert", help="convert a VOC folder or a COCO JSON to YOLO format")
    c.add_argument("--from", dest="fmt", required=True, choices=["voc", "coco"], help="source format")
    c.add_argument("src", help="VOCdevkit-style folder (voc) or instances_*.json (coco)")
    c.add_argument("dst", help="output folder (an existing one gains the split; data.yaml is updated)")
    c.add_argument(
        "--split",
        choices=["train", "val", "test"],
        help="voc: convert only this ImageSets list (or all images) as this split; "
        "coco: the split to write (default from the JSON name, e.g. instances_val2017 → val)",
    )
    c.add_argument("--images", help="coco: folder holding the JSON's images")
    c.add_argument("--names", help="voc: file of class names, one per line (default: sorted names found)")
    c.add_argument("--copy", action="store_true", help="copy images instead of hard-linking them")
    c.add_argument("--overwrite", action="store_true", help="replace a split that already exists in dst")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of images, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    return _synth(args) if args.action == "synth" else _convert(args)


def _progress(iterable, total: int | None = None, desc: str = ""):
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="img", file=sys.stderr, disable=None, leave=False)


def _synth(args: argparse.Namespace) -> int:
    from edgeyolo.data.synth import generate

    if args.video:
        return _synth_video(args)
    if args.imgsz is None:
        args.imgsz = 320
    start = time.perf_counter()
    counts = {"train": args.train, "val": args.val}
    path = generate(args.out, counts, args.seed, args.imgsz, args.overwrite, args.workers, _progress)
    elapsed = time.perf_counter() - start
    print(f"{args.train} train + {args.val} val images in {elapsed:.1f} s; dataset: {path}", file=sys.stderr)
    return 0


def _synth_video(args: argparse.Namespace) -> int:
    from edgeyolo.data.synth_video import generate_video
    from edgeyolo.defaults import SHIPPED_TRAINING_IMGSZ

    if args.imgsz is None:
        args.imgsz = SHIPPED_TRAINING_IMGSZ
    start = time.perf_counter()
    folders = generate_video(
        args.out, args.sequences, args.frames, args.seed, args.imgsz, args.frame_rate, args.overwrite
    )
    elapsed = time.perf_counter() - start
    print(
        f"{len(folders)} sequences of {args.frames} frames in {elapsed:.1f} s; in {args.out}", file=sys.stderr
    )
    return 0


class _Reporter:
    """Prints the first MAX_REPORTS problems to stderr and counts the rest."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        if self.count <= MAX_REPORTS:
            print(f"warning: {message}", file=sys.stderr)

    def close(self) -> None:
        if self.count > MAX_REPORTS:
            print(f"warning: … and {self.count - MAX_REPORTS} more problems", file=sys.stderr)


def _convert(args: argparse.Namespace) -> int:
    from edgeyolo.data.convert import convert_coco, convert_voc

    report = _Reporter()
    link = not args.copy
    try:
        if args.fmt == "voc":
            if args.images:
                raise EdgeYoloError("--images is for --from coco (VOC images are in SRC/JPEGImages)")
            names = _read_names(args.names) if args.names else None
            result = convert_voc(args.src, args.dst, args.split, names, report, link, args.overwrite)
        else:
            if not args.images:
                raise EdgeYoloError("--from coco needs --images DIR (the folder of the JSON's images)")
            if args.names:
                raise EdgeYoloError("--names is for --from voc (COCO names come from its categories)")
            result = convert_coco(args.src, args.images, args.dst, args.split, report, link, args.overwrite)
    finally:
        report.close()
    print(f"{result.summary()}; dataset: {result.data_yaml}", file=sys.stderr)
    return 0


def _read_names(path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EdgeYoloError(f"cannot read --names file {path}: {exc.strerror or exc}") from exc
    names = [line.strip() for line in lines if line.strip()]
    if not names:
        raise EdgeYoloError(f"--names file {path} lists no class names")
    if len(set(names)) != len(names):
        raise EdgeYoloError(f"--names file {path} lists a class twice")
    return names
