"""edgeyolo.runtime: the torch-free inference path a camera app embeds (numpy and OpenCV only)."""

from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError
from edgeyolo.runtime.decode import Candidates, decode_decoded, decode_raw
from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.letterbox import LetterboxInfo, letterbox
from edgeyolo.runtime.nms import nms

__all__ = [
    "METADATA_KEY",
    "Candidates",
    "Contract",
    "ContractError",
    "Detections",
    "LetterboxInfo",
    "decode_decoded",
    "decode_raw",
    "letterbox",
    "nms",
]
