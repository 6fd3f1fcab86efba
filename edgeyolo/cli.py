"""The `edgeyolo` command: a thin layer over the Python API. Subcommands load their libraries lazily."""

from __future__ import annotations

import argparse
import importlib
import sys

from edgeyolo import __version__

COMMANDS = ("info", "export", "detect", "val", "bench", "train", "data", "serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeyolo", description="MobileNet-YOLO detectors to the edge.")
    parser.add_argument("--version", action="version", version=f"edgeyolo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"edgeyolo.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `edgeyolo` console script; returns the exit status."""
    from edgeyolo.errors import EdgeYoloError
    from edgeyolo.runtime.contract import ContractError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return importlib.import_module(f"edgeyolo.commands.{args.command}").run(args)
    except (EdgeYoloError, ContractError) as exc:
        print(f"edgeyolo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"edgeyolo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
