"""Tracking and counting: identities across frames (`Tracker`), line crossings and zone occupancy."""

from edgeyolo.runtime.tracking import bytetrack as _bytetrack  # noqa: F401  (registers "bytetrack")
from edgeyolo.runtime.tracking.bytetrack import ByteTrackOptions
from edgeyolo.runtime.tracking.errors import TrackingError
from edgeyolo.runtime.tracking.line_counter import LineCounter
from edgeyolo.runtime.tracking.methods import METHODS
from edgeyolo.runtime.tracking.tracker import Tracker
from edgeyolo.runtime.tracking.zone_counter import ZoneCounter

__all__ = ["METHODS", "ByteTrackOptions", "LineCounter", "Tracker", "TrackingError", "ZoneCounter"]
