"""The Python-backend models of edgeyolo's Triton ensemble; they run inside Triton's Python stub.

A repository's ``model.py`` is one line (``from edgeyolo.serve.triton_models import Preprocess as
TritonPythonModel``), so the code that runs is `edgeyolo.runtime`'s own letterbox, backends, decode and NMS
(through a `Detector` built on a contract-only backend), never a copy. Settings come from the model
config's ``parameters`` (the ``edgeyolo`` contract, tensor names, limits); ``conf`` / ``iou`` may be given
per request as request parameters.

Tensors between the steps (per batch item): ``IMAGE`` uint8 [L] (encoded JPEG/PNG) → preprocess, or
``FRAME`` uint8 [H, W, 3] (a raw BGR frame, the runtime's own input) → frames preprocess →
the model input [3, H, W] (or [H, W, 3] uint8) and ``LETTERBOX`` float64 [7] (ratio, left, top, original
h, w, letterboxed h, w) → model step → the model's outputs → postprocess → ``DETECTIONS`` float32 [N, 6]
(x1, y1, x2, y2, score, class in original pixels; padded with zeros to the request's largest N) and
``NUM_DETECTIONS`` int32 [1].
"""

from __future__ import annotations

import ctypes
import io
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import triton_python_backend_utils as pb_utils  # only importable inside Triton's Python stub

from edgeyolo.runtime.backends import Backend, BackendError, load_backend
from edgeyolo.runtime.contract import Contract, ContractError
from edgeyolo.runtime.detector import Detector
from edgeyolo.runtime.letterbox import LetterboxInfo

DEFAULT_MAX_PIXELS = 40_000_000  # a 7680x4320 (8K) frame is 33.2 MP
GEOMETRY = "LETTERBOX"
FRAME = "FRAME"


# Tensors cross into and out of the stub by DLPack, not `as_numpy()` / `Tensor(name, array)`: the stub's
# numpy bridge was compiled against numpy 1 and reads numpy 2 arrays with the wrong item size (inputs
# come back as one repeated element, outputs empty). DLPack carries the data intact; after Triton takes an
# output capsule it renames it "used_dlpack", which numpy 2 does not recognise as consumed, so the capsule
# is marked "used_dltensor" (the name the DLPack protocol specifies) and numpy leaves the buffer to Triton.
_capsule_set_name = ctypes.pythonapi.PyCapsule_SetName
_capsule_set_name.argtypes = [ctypes.py_object, ctypes.c_char_p]
_USED_CAPSULE = b"used_dltensor"


def _input(request, name: str) -> np.ndarray:
    """A request's input tensor as a numpy array (a view of Triton's buffer for this execute call)."""
    return np.from_dlpack(pb_utils.get_input_tensor_by_name(request, name))


def _tensor(name: str, array: np.ndarray):
    """A Triton output tensor holding `array`'s data (handed over by DLPack)."""
    array = np.ascontiguousarray(array)
    if array.size == 0:  # numpy gives empty arrays zero strides; Triton's DLPack check wants C-order ones
        strides = [array.itemsize]
        for dim in reversed(array.shape[1:]):
            strides.insert(0, strides[0] * dim)
        array = np.lib.stride_tricks.as_strided(array, array.shape, tuple(strides))
    capsule = array.__dlpack__()
    tensor = pb_utils.Tensor.from_dlpack(name, capsule)
    _capsule_set_name(capsule, _USED_CAPSULE)
    return tensor


class RequestError(ValueError):
    """One request cannot be served; its message goes back to that client only."""


class ContractBackend(Backend):
    """A backend that only carries a contract, so `Detector.preprocess/postprocess` run without a model."""

    name = "contract-only"

    def __init__(self, contract: Contract, input_dtype: str = "float32") -> None:
        super().__init__("<triton>")
        self.contract = contract
        self.input_dtype = np.dtype(input_dtype)

    def infer(self, inputs: np.ndarray) -> list[np.ndarray]:
        raise BackendError("a contract-only backend runs no model")


def config_parameters(args: dict) -> dict[str, str]:
    """The string parameters of the model config Triton passes to `initialize`."""
    config = json.loads(args["model_config"])
    return {k: v["string_value"] for k, v in config.get("parameters", {}).items()}


def declared_size(data: bytes, max_pixels: int) -> None:
    """Refuse anything but a JPEG/PNG whose header declares at most `max_pixels`, before decoding it."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise RequestError("IMAGE is empty (0 bytes); send the bytes of one encoded JPEG or PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply our own limit
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as im:  # reads the header only
                w, h, kind = *im.size, im.format
    except UnidentifiedImageError:
        raise RequestError(f"IMAGE is not a readable JPEG or PNG ({len(data)} bytes)") from None
    except (Image.DecompressionBombError, OSError) as exc:
        raise RequestError(f"IMAGE is not a readable JPEG or PNG ({len(data)} bytes): {exc}") from None
    # libjpeg decodes a cut-off JPEG into a grey-filled image without failing; its end marker tells
    if kind == "JPEG" and not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        raise RequestError(f"IMAGE is a truncated JPEG ({len(data)} bytes, no end-of-image marker)")
    if w * h > max_pixels:
        raise RequestError(
            f"IMAGE declares {w}x{h} = {w * h / 1e6:.1f} megapixels, over this server's limit of "
            f"{max_pixels / 1e6:.1f}; resize it before sending"
        )


def _respond(requests, handle) -> list:
    """Run `handle(request)` per request; a `RequestError` becomes that request's error response."""
    responses = []
    for request in requests:
        try:
            tensors = handle(request)
        except (RequestError, ContractError) as exc:
            # the client's fault: HTTP 400 / gRPC INVALID_ARGUMENT, not an internal error
            error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
            responses.append(pb_utils.InferenceResponse(error=error))
        else:
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
    return responses


class Preprocess:
    """Encoded JPEG/PNG bytes → the runtime's letterbox and the model's input format, plus the geometry."""

    def initialize(self, args: dict) -> None:
        params = config_parameters(args)
        contract = Contract.from_json(params["edgeyolo"])
        self.detector = Detector(ContractBackend(contract, params.get("input_dtype", "float32")))
        self.input_name = params["input_name"]
        self.max_pixels = int(params.get("max_image_pixels", DEFAULT_MAX_PIXELS))

    def execute(self, requests) -> list:
        return _respond(requests, self._one)

    def _one(self, request) -> list:
        frames = []
        for i, item in enumerate(_input(request, "IMAGE")):
            data = item.tobytes()
            declared_size(data, self.max_pixels)
            frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if frame is None:
                raise RequestError(f"IMAGE item {i} could not be decoded as a JPEG or PNG")
            frames.append(frame)
        return self._letterboxed(frames)

    def _letterboxed(self, frames) -> list:
        """The model input of `frames` (the runtime's letterbox) and each frame's geometry."""
        tensors, geometry = [], []
        for frame in frames:
            tensor, info = self.detector.preprocess(frame)
            tensors.append(tensor)
            geometry.append([info.ratio, *info.pad, *info.orig_shape, *info.new_shape])
        return [
            _tensor(self.input_name, np.concatenate(tensors, 0)),
            _tensor(GEOMETRY, np.asarray(geometry, dtype=np.float64)),
        ]


class PreprocessFrames(Preprocess):
    """Raw uint8 BGR frames [H, W, 3] → the runtime's letterbox and the model's input, plus the geometry.

    Triton has already refused a wrong dtype or rank and a channel count other than 3 (the config's dims
    are [-1, -1, 3]); this refuses empty frames and frames over the server's pixel limit.
    """

    def _one(self, request) -> list:
        batch = _input(request, FRAME)
        check_frames(batch.shape, self.max_pixels)
        return self._letterboxed(batch)


def check_frames(shape: tuple[int, ...], max_pixels: int) -> None:
    """Refuse a FRAME batch that is not [B, H, W, 3] with 0 < H*W <= `max_pixels`."""
    if len(shape) != 4 or shape[3] != 3:
        raise RequestError(f"FRAME must be [batch, height, width, 3] uint8 BGR, got shape {list(shape)}")
    if shape[0] == 0:
        raise RequestError("FRAME holds no frames (batch of 0)")
    h, w = shape[1], shape[2]
    if h == 0 or w == 0:
        raise RequestError(
            f"FRAME is empty ({h}x{w} pixels); send uint8 BGR frames [batch, height, width, 3]"
        )
    if h * w > max_pixels:
        raise RequestError(
            f"FRAME is {w}x{h} = {w * h:,} pixels, over this server's limit of {max_pixels:,}; "
            "resize it before sending"
        )


class ModelStep:
    """The model itself, run by `edgeyolo.runtime`'s backend on the repository's model file.

    Used where the Triton build has no backend for the file (the CPU build in the `nvidia-pytriton`
    wheel has none for ONNX Runtime, TensorRT or OpenVINO). Requests queued together by Triton's dynamic
    batcher run as one batch when the model has a dynamic batch axis.
    """

    def initialize(self, args: dict) -> None:
        params = config_parameters(args)
        path = Path(args["model_repository"]) / args["model_version"] / params["model_file"]
        options = json.loads(params.get("runtime_options", "{}"))
        self.backend = load_backend(path, params.get("runtime_backend", "auto"), **options)
        self.input_name = params["input_name"]
        self.output_names = json.loads(params["output_names"])

    def execute(self, requests) -> list:
        inputs = [_input(r, self.input_name) for r in requests]
        sizes = [len(x) for x in inputs]
        if self.backend.fixed_batch in (None, sum(sizes)):
            outputs = self.backend.infer(np.concatenate(inputs, 0) if len(inputs) > 1 else inputs[0])
        else:  # a fixed-batch model: one item at a time
            items = [self.backend.infer(x[j : j + 1]) for x in inputs for j in range(len(x))]
            outputs = [np.concatenate(parts, 0) for parts in zip(*items, strict=True)]
        responses, start = [], 0
        for size in sizes:
            tensors = [
                _tensor(name, np.ascontiguousarray(out[start : start + size]))
                for name, out in zip(self.output_names, outputs, strict=True)
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start += size
        return responses

    def finalize(self) -> None:
        self.backend.close()


class Postprocess:
    """The runtime's decode, NMS and scale-back to original pixels; ``conf``/``iou`` per request."""

    def initialize(self, args: dict) -> None:
        params = config_parameters(args)
        self.contract = Contract.from_json(params["edgeyolo"])
        self.output_names = json.loads(params["output_names"])
        self.conf = float(params.get("conf", 0.25))
        self.iou = float(params.get("iou", 0.45))
        self.max_det = int(params.get("max_det", 300))
        self._detectors: dict[tuple[float, float], Detector] = {}

    def execute(self, requests) -> list:
        return _respond(requests, self._one)

    def _detector(self, conf: float, iou: float) -> Detector:
        key = (conf, iou)
        if key not in self._detectors:
            if len(self._detectors) > 64:  # thresholds are client-chosen; keep the cache bounded
                self._detectors.clear()
            self._detectors[key] = Detector(
                ContractBackend(self.contract), conf=conf, iou=iou, max_det=self.max_det
            )
        return self._detectors[key]

    def _one(self, request) -> list:
        params = json.loads(request.parameters() or "{}")
        conf = _threshold(params, "conf", self.conf)
        iou = _threshold(params, "iou", self.iou)
        outputs = [_input(request, n) for n in self.output_names]
        geometry = _input(request, GEOMETRY)
        infos = [
            LetterboxInfo(float(g[0]), (int(g[1]), int(g[2])), (int(g[3]), int(g[4])), (int(g[5]), int(g[6])))
            for g in geometry
        ]
        detections = self._detector(conf, iou).postprocess(outputs, infos)
        most = max(len(d) for d in detections)
        out = np.zeros((len(detections), most, 6), np.float32)
        for i, d in enumerate(detections):
            out[i, : len(d), :4] = d.xyxy
            out[i, : len(d), 4] = d.confidence
            out[i, : len(d), 5] = d.class_id
        counts = np.asarray([[len(d)] for d in detections], np.int32)
        return [_tensor("DETECTIONS", out), _tensor("NUM_DETECTIONS", counts)]


def _threshold(params: dict, key: str, default: float) -> float:
    if key not in params:
        return default
    value = params[key]
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RequestError(f"request parameter {key} must be a number in [0, 1], got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise RequestError(f"request parameter {key} must be a number in [0, 1], got {value!r}")
    return float(value)
