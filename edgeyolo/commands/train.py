"""`edgeyolo train`: the YOLOv5 recipe on a YOLO-format dataset."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    from edgeyolo.train.config import TrainConfig

    d = TrainConfig()
    p = sub.add_parser("train", help="train a model on a YOLO-format dataset (data.yaml)")
    p.add_argument("--cfg", default=d.cfg, help="model config name or YAML path")
    p.add_argument("--data", help="data.yaml (not needed with --resume, which continues on its own data)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--imgsz", type=int, default=d.imgsz, help="square training size (a multiple of 32)")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--workers", type=int, default=d.workers, help="data-loading processes")
    p.add_argument("--weights", help="checkpoint to fine-tune from (matching tensors are transferred)")
    p.add_argument("--resume", metavar="LAST_PT", help="continue an interrupted run from its last.pt")
    p.add_argument(
        "--out", help="folder for best.pt and last.pt (default: runs/train; with --resume, its folder)"
    )
    p.add_argument("--optimizer", choices=["SGD", "AdamW"], default=d.optimizer)
    p.add_argument("--lr0", type=float, default=d.lr0, help="initial learning rate")
    p.add_argument("--lrf", type=float, default=d.lrf, help="final learning rate as a fraction of lr0")
    p.add_argument(
        "--warmup-epochs",
        type=float,
        default=d.warmup_epochs,
        help="linear warm-up length (0 when fine-tuning a trained model)",
    )
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--mosaic", type=float, default=d.mosaic, help="mosaic probability (0 to switch it off)")
    p.add_argument(
        "--scale", type=float, default=d.scale, help="scale augmentation: random gain in [1 - s, 1 + s]"
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="decode the training images once and keep them in memory (up to half the free memory)",
    )
    p.add_argument("--val-every", type=int, default=d.val_every, help="validate every k epochs")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--trust-checkpoint", action="store_true", help="allow full unpickling of --weights/--resume"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON at the end")


def run(args: argparse.Namespace) -> int:
    from edgeyolo.errors import EdgeYoloError, require

    require("torch", "export", "`edgeyolo train`")
    from edgeyolo.train.config import TrainConfig
    from edgeyolo.train.trainer import train

    if not (args.data or args.resume):
        raise EdgeYoloError("--data is required (or --resume LAST_PT, which continues on its own data)")
    settings = {
        k: getattr(args, k) for k in TrainConfig.__dataclass_fields__ if getattr(args, k, None) is not None
    }
    result = train(TrainConfig(**settings))  # TrainConfig refuses impossible settings first
    summary = {
        "best": str(result.best),
        "last": str(result.last),
        "best_map50_95": result.best_map50_95,
        "best_map50": result.best_map50,
    }
    print(
        json.dumps(summary)
        if args.json
        else f"best {result.best} (mAP50-95 {result.best_map50_95:.4f}, mAP50 {result.best_map50:.4f}); "
        f"last {result.last}"
    )
    return 0
