"""edgeyolo.runtime: the torch-free inference path a camera app embeds (numpy and OpenCV only)."""

from edgeyolo.runtime.backends import Backend, BackendError, MissingBackendError, load_backend
from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError
from edgeyolo.runtime.decode import Candidates, decode_decoded, decode_raw
from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.detector import Detector
from edgeyolo.runtime.letterbox import LetterboxInfo, letterbox
from edgeyolo.runtime.nms import nms

__all__ = [
    "METADATA_KEY",
    "Backend",
    "BackendError",
    "Candidates",
    "Contract",
    "ContractError",
    "Detections",
    "Detector",
    "LetterboxInfo",
    "MissingBackendError",
    "decode_decoded",
    "decode_raw",
    "letterbox",
    "load_backend",
    "nms",
]
