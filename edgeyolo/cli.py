"""The `edgeyolo` command: a thin layer over the Python API. Subcommands load their libraries lazily.

Exit status: 0 success; 2 a refused request or bad input; 1 an operation that ran and failed
(verification, inference); 130 interrupted. Errors print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from edgeyolo import __version__

COMMANDS = ("info", "import", "export", "detect", "val", "bench", "train", "data", "serve")
MODULES = {"import": "import_"}  # a module cannot be named `import`


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeyolo", description="MobileNet-YOLO detectors to the edge.")
    parser.add_argument("--version", action="version", version=f"edgeyolo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"edgeyolo.commands.{MODULES.get(name, name)}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `edgeyolo` console script; returns the exit status."""
    from edgeyolo.errors import EdgeYoloError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        module = MODULES.get(args.command, args.command)
        return importlib.import_module(f"edgeyolo.commands.{module}").run(args)
    except EdgeYoloError as exc:
        print(f"edgeyolo {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"edgeyolo {args.command}: interrupted", file=sys.stderr)
        return 130


def one_line(exc: BaseException) -> str:
    """The error's message on one line (multi-line library messages are joined)."""
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
