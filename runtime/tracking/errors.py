"""The error of tracking and counting: bad options or bad geometry, named by field."""

from __future__ import annotations

from edgeyolo.runtime.errors import EdgeYoloError


class TrackingError(EdgeYoloError, ValueError):
    """A tracker, line or zone was given something it cannot work with (the message names the field)."""
