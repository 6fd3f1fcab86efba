"""`edgeyolo info`: the per-layer table and summary (parameters, GFLOPs, strides) of a model."""

from __future__ import annotations

import argparse
import json

from edgeyolo.commands.common import add_model_args, build_model, check_imgsz, parse_imgsz


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show a model's layers, parameters and GFLOPs")
    add_model_args(p)
    p.add_argument("--imgsz", type=parse_imgsz, default=(640, 640), help="input size for GFLOPs (int or h,w)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--list", action="store_true", help="list the shipped model configs and exit")


def run(args: argparse.Namespace) -> int:
    if args.list:
        from edgeyolo.config import available_configs

        print("\n".join(available_configs()))
        return 0
    model = build_model(args)
    check_imgsz(args.imgsz, model.max_stride)
    from edgeyolo.models.info import format_table, summarize

    summary = summarize(model, args.imgsz)
    if args.json:
        print(json.dumps({**summary.to_dict(), "names": model.names, "anchors": model.anchors_pixels}))
    else:
        print(format_table(model, summary))
    return 0
