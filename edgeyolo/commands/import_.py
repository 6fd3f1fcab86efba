"""`edgeyolo import`: convert a checkpoint of other training code into a native edgeyolo checkpoint."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="convert a YOLOv5 checkpoint (best.pt, last.pt, state_dict + --cfg) to edgeyolo's format",
    )
    p.add_argument("source", help="the checkpoint to import (.pt / .pth)")
    p.add_argument("-o", "--output", required=True, help="native edgeyolo checkpoint to write (.pt)")
    p.add_argument("--cfg", help="the YOLOv5 model YAML a plain state_dict was trained with")
    p.add_argument("--classes", help="classes .txt of a YoloBody .pth (design document 001), one per line")
    p.add_argument("--anchors", help="anchors .txt of a YoloBody .pth: 9 comma-separated w,h pairs")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def run(args: argparse.Namespace) -> int:
    from edgeyolo.errors import EdgeYoloError, require

    require("torch", "export", "`edgeyolo import`")
    from edgeyolo.models.foreign.report import import_checkpoint

    src, out = Path(args.source), Path(args.output)
    if out.exists() and out.resolve() == src.resolve():
        raise EdgeYoloError(f"-o {out} is the file being imported; choose another output path")
    if out.is_dir():
        raise EdgeYoloError(f"-o {out} is a directory; give the checkpoint file to write")
    cfg_text = None
    if args.cfg:
        path = Path(args.cfg)
        try:
            cfg_text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EdgeYoloError(f"cannot read --cfg {path}: {exc}") from None
    report = import_checkpoint(src, out, cfg_text, args.classes, args.anchors)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"imported {src} ({report['format']}) -> {out}")
    shown = ", ".join(report["names"][:8]) + (" …" if len(report["names"]) > 8 else "")
    print(f"  classes    {report['nc']}: {shown}")
    print(f"  image size {report['imgsz']}")
    print(f"  parameters {report['parameters']:,}")
    for line in report["adapted"]:
        print(f"  adapted    {line}")
    return 0
