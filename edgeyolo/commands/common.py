"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse


def parse_imgsz(text: str) -> tuple[int, int]:
    """`640` → (640, 640); `480,640` → (480, 640) as (h, w)."""
    try:
        parts = [int(p) for p in str(text).replace("x", ",").split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size must be an integer or h,w, got {text!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) <= 0:
        raise argparse.ArgumentTypeError(f"image size must be positive (int or h,w), got {text!r}")
    return parts[0], parts[1]


def check_imgsz(imgsz: tuple[int, int], stride: int) -> None:
    """Refuse a size the model cannot take: each side must be a multiple of its largest stride."""
    from edgeyolo.errors import EdgeYoloError

    if any(s % stride for s in imgsz):
        h, w = imgsz
        fix = f"{-(-h // stride) * stride},{-(-w // stride) * stride}"
        raise EdgeYoloError(
            f"image size {h},{w} is not a multiple of the model's largest stride {stride}; try {fix}"
        )


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cfg",
        help="model config: a shipped name (see `edgeyolo info --list`) or a YAML path; "
        "alone, builds it with random weights",
    )
    p.add_argument(
        "--weights",
        help="checkpoint (.pt) to load; its config is used unless --cfg is given "
        "(default with neither: the shipped trained model)",
    )
    p.add_argument("--nc", type=int, help="number of classes (overrides the config's nc; not with --weights)")
    add_trust_arg(p)


def check_weights_args(args: argparse.Namespace) -> str:
    """The checkpoint the arguments name (default: the shipped trained model); refuses --nc with it."""
    from edgeyolo.defaults import shipped_weights
    from edgeyolo.errors import EdgeYoloError

    if args.nc is not None:
        raise EdgeYoloError("--nc cannot be combined with --weights: the checkpoint fixes the classes")
    return str(args.weights or shipped_weights())


def add_trust_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow a checkpoint that needs full unpickling (can run code: only for files you trust)",
    )


def build_model(args: argparse.Namespace):
    """The model the common arguments describe (torch imported here, not at CLI start)."""
    from edgeyolo.errors import require

    require("torch", "export", f"`edgeyolo {args.command}`")
    from edgeyolo.config import load_config
    from edgeyolo.models.checkpoint import load_model
    from edgeyolo.models.yolo import create_model

    if args.weights or not args.cfg:
        weights = check_weights_args(args)
        cfg_text = load_config(args.cfg).text if args.cfg else None
        return load_model(weights, trust=args.trust_checkpoint, cfg_text=cfg_text)
    return create_model(args.cfg, nc=args.nc).eval()


def add_precision_arg(p: argparse.ArgumentParser, many: bool = False) -> None:
    """--precision: what the backend computes the model's float parts in (refused where it cannot)."""
    from edgeyolo.runtime.precision import REQUESTS

    p.add_argument(
        "--precision",
        nargs="+" if many else None,
        choices=REQUESTS,
        help="compute precision: fp32 (exact), bf16 / fp16 (OpenVINO on hardware that has them), or auto "
        "(the fastest this hardware runs natively: bf16 on CPUs with AVX-512 BF16 or AMX). Default: exact, "
        "or what the model was exported for" + ("; several measure each model in each" if many else ""),
    )
