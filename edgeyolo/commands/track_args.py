"""Tracker flags built from the method's options dataclass (each field's default and help written once),
shared by `detect --track`, `val --track` and the library's errors, which name the fields."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from edgeyolo.runtime.tracking import METHODS, ByteTrackOptions


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_tracker_options(p: argparse.ArgumentParser, options: type = ByteTrackOptions) -> None:
    """One flag per field of ``options`` (``--lost-track-buffer``…), defaulting to None (= the field's)."""
    group = p.add_argument_group("tracker options (ByteTrack)")
    for f in dataclasses.fields(options):
        if f.name == "frame_rate":
            continue  # from the source or the sequence
        group.add_argument(
            _flag(f.name),
            dest=f"tracker_{f.name}",
            type=type(f.default),
            metavar=f.name.split("_")[-1].upper(),
            help=f"{f.metadata.get('help', '')} (default {f.default})",
        )


def tracker_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The tracker options given on the command line (the others keep their defaults)."""
    return {
        k.removeprefix("tracker_"): v
        for k, v in vars(args).items()
        if k.startswith("tracker_") and v is not None
    }


def method_choices() -> list[str]:
    return sorted(METHODS)


def build_tracker(method: str, args: argparse.Namespace, frame_rate: float | None = None):
    """A `Tracker` from the command line; an option error names the flag, not the field."""
    from edgeyolo.errors import EdgeYoloError
    from edgeyolo.runtime.tracking import Tracker, TrackingError

    kwargs = tracker_kwargs(args)
    if frame_rate is not None:
        kwargs["frame_rate"] = frame_rate
    try:
        return Tracker(method, **kwargs)
    except TrackingError as exc:
        message = str(exc)
        for f in dataclasses.fields(ByteTrackOptions):
            message = message.replace(f"{f.name} must", f"{_flag(f.name)} must")
        raise EdgeYoloError(message) from exc
