"""edgeyolo.runtime: the torch-free inference path a camera app embeds (numpy and OpenCV only)."""

from edgeyolo.runtime.annotate import Trails, draw_detections, draw_line_counter, draw_zone_counter
from edgeyolo.runtime.backends import Backend, BackendError, MissingBackendError, load_backend
from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError
from edgeyolo.runtime.decode import Candidates, decode_decoded, decode_raw
from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.detector import Detector, StageTimes
from edgeyolo.runtime.letterbox import LetterboxInfo, letterbox
from edgeyolo.runtime.nms import nms
from edgeyolo.runtime.precision import PrecisionError
from edgeyolo.runtime.sources import Frame, Source, open_source
from edgeyolo.runtime.tracking import LineCounter, Tracker, TrackingError, ZoneCounter

__all__ = [
    "METADATA_KEY",
    "Backend",
    "BackendError",
    "Candidates",
    "Contract",
    "ContractError",
    "Detections",
    "Detector",
    "Frame",
    "LetterboxInfo",
    "LineCounter",
    "MissingBackendError",
    "PrecisionError",
    "Source",
    "StageTimes",
    "Tracker",
    "TrackingError",
    "Trails",
    "ZoneCounter",
    "decode_decoded",
    "decode_raw",
    "draw_detections",
    "draw_line_counter",
    "draw_zone_counter",
    "letterbox",
    "load_backend",
    "nms",
    "open_source",
]
