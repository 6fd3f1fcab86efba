"""`Detector`: frame in, `Detections` in original pixels out. What a camera app embeds.

frame ─ letterbox ─▶ tensor ─ backend.infer ─▶ outputs ─ decode ─▶ candidates ─ NMS ─▶ scale back
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeyolo.runtime.backends import Backend, BackendError, load_backend
from edgeyolo.runtime.batch_input import frame_list
from edgeyolo.runtime.blob import to_blob
from edgeyolo.runtime.decode import Candidates, decode_decoded, decode_raw
from edgeyolo.runtime.detections import Detections
from edgeyolo.runtime.letterbox import LetterboxInfo, letterbox
from edgeyolo.runtime.nms import nms
from edgeyolo.runtime.precision import PrecisionError


@dataclass
class StageTimes:
    """Milliseconds spent in each stage of one `Detector.detect_batch` call."""

    preprocess: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0

    @property
    def end_to_end(self) -> float:
        return self.preprocess + self.inference + self.postprocess


class _Clock:
    """Records stage laps into a `StageTimes`; costs nothing when no one asked for times."""

    def __init__(self, times: StageTimes | None, sync: Callable[[], None] | None) -> None:
        self.times, self.sync = times, sync
        if times is not None:
            self._sync()
            self.last = time.perf_counter()

    def _sync(self) -> None:
        if self.sync is not None:
            self.sync()

    def lap(self, stage: str, sync: bool = False) -> None:
        if self.times is None:
            return
        if sync:
            self._sync()
        now = time.perf_counter()
        setattr(self.times, stage, 1e3 * (now - self.last))
        self.last = now


class Detector:
    """Runs an exported model (or a `.pt` checkpoint, the torch reference path) on BGR frames.

    Everything it needs (classes, strides, anchors, input size and format, output layout) comes from the
    model's `edgeyolo` metadata. Safe to call from several threads at once.
    """

    def __init__(
        self,
        model: str | Path | Backend,
        backend: str = "auto",
        device: str = "cpu",
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 300,
        classes: Sequence[int] | None = None,
        multi_label: bool = False,
        precision: str | None = None,
        **backend_options,
    ) -> None:
        """`precision`: what the backend computes the model's float parts in: None (exact: fp32, or what
        the model was exported for), "fp32", "bf16", "fp16" or "auto" (the fastest this hardware runs
        natively); refused where the backend or hardware cannot run it. `backend.details["precision"]`
        says what ran."""
        if not 0.0 <= conf <= 1.0:
            raise ValueError(f"conf must be in [0, 1], got {conf}")
        if not 0.0 <= iou <= 1.0:
            raise ValueError(f"iou must be in [0, 1], got {iou}")
        if not isinstance(max_det, int) or max_det < 1:
            raise ValueError(f"max_det must be a positive integer, got {max_det!r}")
        if precision is not None:
            if isinstance(model, Backend):
                raise PrecisionError("precision is chosen when a backend is loaded: pass it to load_backend")
            backend_options["precision"] = precision
        self.backend = (
            model if isinstance(model, Backend) else load_backend(model, backend, device, **backend_options)
        )
        self.contract = c = self.backend.contract
        self.names = c.names
        self.conf, self.iou, self.max_det, self.multi_label = conf, iou, max_det, multi_label
        self.classes = None if classes is None else np.asarray(sorted(set(classes)), dtype=np.int64)
        if self.classes is not None and (
            self.classes.size == 0 or self.classes.min() < 0 or self.classes.max() >= c.nc
        ):
            raise ValueError(f"classes must be ids in [0, {c.nc - 1}], got {list(classes)}")
        if c.outputs == "nms":
            if c.nms_conf is not None and conf < c.nms_conf:
                warnings.warn(
                    f"conf {conf} is below the {c.nms_conf} baked into this nms model's graph; boxes between "
                    "them are already gone. Re-export with a lower --conf to see them.",
                    stacklevel=2,
                )
            if c.max_det < max_det:
                self.max_det = c.max_det
        self.uint8_input = c.input == "uint8-nhwc-bgr"
        self._stride = max(c.strides)
        self._lock = threading.Lock()
        self.dropped_nonfinite = 0
        self._closed = False

    # -- public API ---------------------------------------------------------------------------------
    def detect(self, frame: np.ndarray) -> Detections:
        """Detect objects in one BGR uint8 frame (HxWx3; grayscale and BGRA are converted)."""
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Iterable[np.ndarray], times: StageTimes | None = None) -> list[Detections]:
        """Detect objects in several frames (any iterable of HxWx3 arrays, or an NxHxWxC stack), in as few
        backend calls as the model's batch allows.

        This is the one batch loop: a fixed-batch model gets its batch filled by repetition, a dynamic one
        gets all frames at once. `times`, if given, receives the milliseconds of each stage (the device is
        synchronised around inference so GPU time is not counted as postprocessing).
        """
        frames = frame_list(frames)  # refuses a single frame, None, numbers, strings, mappings
        if not frames:
            return []
        clock = _Clock(times, getattr(self.backend, "synchronize", None))
        prepared = [self.preprocess(f) for f in frames]
        batch = self.backend.fixed_batch
        step = len(frames) if batch is None else batch
        chunks: list[tuple[np.ndarray, int]] = []
        for start in range(0, len(prepared), step):
            part = [t for t, _ in prepared[start : start + step]]
            n = len(part)
            part += [part[-1]] * (step - n)  # a fixed batch is filled by repetition
            chunks.append((part[0] if len(part) == 1 else np.concatenate(part, 0), n))
        clock.lap("preprocess")
        outputs = [(self._infer(x), n) for x, n in chunks]
        clock.lap("inference", sync=True)
        results: list[Detections] = []
        done = 0
        for out, n in outputs:
            if n < step:
                out = [o[:n] for o in out]
            results += self.postprocess(out, [info for _, info in prepared[done : done + n]])
            done += n
        clock.lap("postprocess")
        return results

    def preprocess(self, frame: np.ndarray) -> tuple[np.ndarray, LetterboxInfo]:
        """Letterbox a frame into the model's input tensor (batch of one) and its geometry."""
        img, info = letterbox(
            frame, self.contract.imgsz, stride=self._stride, pad_value=self.contract.letterbox.pad_value
        )
        if self.uint8_input:
            return img[None], info
        return to_blob(img, self.backend.input_dtype), info

    def postprocess(self, outputs: list[np.ndarray], infos: Sequence[LetterboxInfo]) -> list[Detections]:
        """Model outputs of a batch → one `Detections` per image, in original-image pixels."""
        mode = self.contract.outputs
        if mode == "raw":
            cands = decode_raw(outputs, self.contract, self.conf, self.multi_label)
        elif mode == "decoded":
            cands = decode_decoded(outputs[0], self.conf, self.multi_label)
        else:
            cands = self._from_nms(outputs)
        dropped = sum(c.dropped_nonfinite for c in cands)
        if dropped:
            self._count_nonfinite(dropped)
        return [self._finish(c, info, run_nms=mode != "nms") for c, info in zip(cands, infos, strict=True)]

    def close(self) -> None:
        """Release the backend. Further calls raise."""
        if not self._closed:
            self._closed = True
            self.backend.close()

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------
    def _infer(self, x: np.ndarray) -> list[np.ndarray]:
        if self._closed:
            raise BackendError("this Detector is closed")
        return self.backend.infer(x)

    def _from_nms(self, outputs: list[np.ndarray]) -> list[Candidates]:
        dets, num = outputs[0], outputs[1]
        out = []
        for b in range(dets.shape[0]):
            d = dets[b, : int(num[b])].astype(np.float32, copy=False)
            finite = np.isfinite(d).all(1)
            d = d[finite & (d[:, 4] >= self.conf)]
            out.append(
                Candidates(
                    np.ascontiguousarray(d[:, :4]),
                    d[:, 4].copy(),
                    d[:, 5].astype(np.int64),
                    int((~finite).sum()),
                )
            )
        return out

    def _finish(self, c: Candidates, info: LetterboxInfo, run_nms: bool) -> Detections:
        xyxy, score, cls = c.xyxy, c.score, c.class_id
        if self.classes is not None:
            keep = np.isin(cls, self.classes)
            xyxy, score, cls = xyxy[keep], score[keep], cls[keep]
        if run_nms:
            keep = nms(xyxy, score, cls, self.iou, self.max_det)
            xyxy, score, cls = xyxy[keep], score[keep], cls[keep]
        else:
            xyxy, score, cls = xyxy[: self.max_det], score[: self.max_det], cls[: self.max_det]
        return Detections(info.to_original(xyxy), score, cls, self.names)

    def _count_nonfinite(self, n: int) -> None:
        with self._lock:
            first = self.dropped_nonfinite == 0
            self.dropped_nonfinite += n
        if first:
            warnings.warn(
                f"the model produced non-finite outputs; {n} candidates dropped "
                "(Detector.dropped_nonfinite keeps count)",
                RuntimeWarning,
                stacklevel=3,
            )
