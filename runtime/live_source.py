"""`LiveSource`: a webcam or network stream read on a background thread that keeps only the latest frame.

Threads: a supervisor (the watchdog) starts one reader per connection. Each reader owns its
`cv2.VideoCapture` (opens, reads, releases it; no other thread touches it) and publishes frames into a
one-slot buffer guarded by a condition variable. When a reader fails, or no new frame arrived for
``stall_timeout`` seconds, the supervisor abandons that connection (its reader releases the capture as
soon as its blocked call returns) and opens a new one after an exponential backoff.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from edgeyolo.runtime.errors import EdgeYoloError
from edgeyolo.runtime.source_base import Frame, Source, WarningHandler, default_warning, to_bgr

__all__ = ["LiveSource", "SourceConnectError", "SourceStats"]

INITIAL_BACKOFF = 0.25
FPS_WINDOW = 2.0  # seconds of recent frames averaged by `SourceStats.fps`
_POLL = 0.05  # how often the supervisor looks at its connection


class SourceConnectError(EdgeYoloError, ConnectionError):
    """A live source with a ``connect_timeout`` got no first frame in time and gave up."""


@dataclass(frozen=True)
class SourceStats:
    """Counters of a live source: frames read from the device, frames overwritten before the consumer
    took them, reconnections, and the capture rate over the last two seconds."""

    frames_read: int
    frames_dropped: int
    reconnects: int
    fps: float


def open_capture(target: int | str, timeout_s: float) -> cv2.VideoCapture:
    """Open a camera index or stream URL with open/read timeouts where the backend honours them."""
    ms = max(1, round(timeout_s * 1000))
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    api = cv2.CAP_ANY
    if isinstance(target, str) and "://" in target and cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG):
        api = cv2.CAP_FFMPEG  # FFmpeg honours both timeouts; other stream backends may block for long
    try:
        return cv2.VideoCapture(target, api, params)
    except cv2.error:  # a backend that refuses the timeout parameters
        return cv2.VideoCapture(target, api)


class _Connection:
    """One attempt to read the stream: a daemon thread owning one capture."""

    def __init__(self, owner: LiveSource, number: int):
        self.owner = owner
        self.active = True  # cleared (under owner._cond) when the supervisor gives up on this connection
        self.started = time.monotonic()
        self.last_frame = self.started
        self.frames = 0
        self.error: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"edgeyolo-live-{number}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        owner = self.owner
        cap = None
        try:
            cap = open_capture(owner.target, owner.stall_timeout)
            if not cap.isOpened():
                self.error = "cannot open the stream"
                return
            while self.active:
                ok, image = cap.read()
                if not self.active:
                    break
                if not ok or image is None:
                    self.error = "frame read failed (stream ended or connection lost)"
                    return
                owner._publish(self, image)
        except Exception as exc:  # a capture must never take the thread down silently
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if cap is not None:
                cap.release()
            self.done.set()


class LiveSource(Source):
    """A webcam index or stream URL. Iterating yields each new frame at most once and ends on `close`.

    Once connected it reconnects forever (what a camera app wants). With ``connect_timeout`` it gives up
    when no first frame arrived within that many seconds of opening: `state` becomes "failed", `error`
    says why, and `read` (so iteration) raises SourceConnectError.
    """

    is_live = True
    is_video = True
    total = None

    def __init__(
        self,
        target: int | str,
        *,
        source: str | None = None,
        stall_timeout: float = 3.0,
        max_backoff: float = 10.0,
        on_warning: WarningHandler | None = None,
        connect_timeout: float | None = None,
    ):
        if connect_timeout is not None and not connect_timeout > 0:
            raise ValueError(f"connect_timeout must be > 0 seconds or None, got {connect_timeout}")
        if not stall_timeout > 0:
            raise ValueError(f"stall_timeout must be > 0 seconds, got {stall_timeout}")
        if not max_backoff > 0:
            raise ValueError(f"max_backoff must be > 0 seconds, got {max_backoff}")
        self.target = target
        self.source = str(target) if source is None else source
        self.stall_timeout = float(stall_timeout)
        self.max_backoff = float(max_backoff)
        self._warn = on_warning or default_warning
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._latest: Frame | None = None
        self._taken = -1  # index of the last frame handed to the consumer
        self._read = self._dropped = self._reconnects = 0
        self._times: deque[float] = deque(maxlen=256)
        self._conn: _Connection | None = None
        self.connect_timeout = connect_timeout
        self._deadline = None if connect_timeout is None else time.monotonic() + connect_timeout
        self._failure: str | None = None
        self._supervisor = threading.Thread(
            target=self._supervise, name="edgeyolo-live-watchdog", daemon=True
        )
        self._supervisor.start()

    # -- consumer side ------------------------------------------------------------------------------
    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame newer than the last one returned; None on timeout or once closed."""
        with self._cond:
            fresh = self._cond.wait_for(self._has_news, timeout)
            if self._failure is not None:
                raise SourceConnectError(self._failure)
            if not fresh or self._closed.is_set():
                return None
            frame = self._latest
            self._taken = frame.index
            return frame

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def _has_news(self) -> bool:
        return self._closed.is_set() or (self._latest is not None and self._latest.index > self._taken)

    @property
    def state(self) -> str:
        """ "connecting" (no frame yet), "streaming", "reconnecting" (had frames, lost them), "failed"
        (gave up: see `error`) or "closed"."""
        with self._cond:
            if self._failure is not None:
                return "failed"
            if self._closed.is_set():
                return "closed"
            conn = self._conn
            if conn is not None and conn.active and conn.frames:
                return "streaming"
            return "reconnecting" if self._read else "connecting"

    @property
    def error(self) -> str | None:
        """Why the source gave up, once `state` is "failed"."""
        return self._failure

    @property
    def stats(self) -> SourceStats:
        """A snapshot of the counters."""
        now = time.monotonic()
        with self._cond:
            recent = [t for t in self._times if now - t <= FPS_WINDOW]
            span = recent[-1] - recent[0] if len(recent) > 1 else 0.0
            fps = (len(recent) - 1) / span if span > 0 else 0.0
            return SourceStats(self._read, self._dropped, self._reconnects, fps)

    def close(self, timeout: float = 1.0) -> None:
        """Stop the threads and release the capture.

        Waits at most about ``timeout`` seconds: a reader blocked inside the capture is left to finish on its
        own (it is a daemon thread and releases its capture as soon as the call returns).
        """
        with self._cond:
            self._closed.set()
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        if self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout)
        conn = self._conn
        if conn is not None and conn.thread is not threading.current_thread():
            conn.done.wait(max(0.0, deadline - time.monotonic()))

    # -- producer side ------------------------------------------------------------------------------
    def _publish(self, conn: _Connection, image: np.ndarray) -> None:
        now = time.monotonic()
        image = to_bgr(image)
        with self._cond:
            if not conn.active or self._closed.is_set():
                return
            if self._latest is not None and self._latest.index > self._taken:
                self._dropped += 1
            self._latest = Frame(image, self._read, self.source, now, None)
            self._read += 1
            self._times.append(now)
            conn.last_frame = now
            conn.frames += 1
            self._cond.notify_all()

    def _watch(self, conn: _Connection) -> str | None:
        """Wait until ``conn`` fails or stalls (returns why) or the source closes (returns None)."""
        while not self._closed.is_set():
            if conn.done.wait(_POLL):
                return conn.error or "capture stopped"
            if self._past_deadline():
                return "still connecting"
            idle = time.monotonic() - conn.last_frame
            if idle >= self.stall_timeout:
                what = "no new frame" if conn.frames else "no frame since connecting"
                return f"{what} for {idle:.1f} s"
        return None

    def _past_deadline(self) -> bool:
        return self._deadline is not None and not self._read and time.monotonic() >= self._deadline

    def _give_up(self, reason: str) -> None:
        message = (
            f"live source {self.source}: no frame within {self.connect_timeout:g} s of opening it "
            f"({reason}); check the address, or allow longer (connect_timeout, --connect-timeout)"
        )
        with self._cond:
            self._failure = message
            self._closed.set()
            self._cond.notify_all()

    def _report(self, message: str) -> None:
        try:
            self._warn(message)
        except Exception as exc:  # a failing callback must not stop the watchdog
            default_warning(f"{message} (on_warning raised {type(exc).__name__}: {exc})")

    def _supervise(self) -> None:
        backoff = INITIAL_BACKOFF
        attempt = 0
        while not self._closed.is_set():
            attempt += 1
            self._conn = conn = _Connection(self, attempt)
            reason = self._watch(conn)
            with self._cond:
                conn.active = False  # its reader releases the capture when its current call returns
            if reason is None:
                break
            if self._past_deadline():
                self._give_up(reason)
                break
            if conn.frames:
                backoff = INITIAL_BACKOFF
            with self._cond:
                self._reconnects += 1
            self._report(f"live source {self.source}: {reason}; reconnecting in {backoff:.2f} s")
            wait = backoff
            if self._deadline is not None and not self._read:
                wait = max(0.0, min(backoff, self._deadline - time.monotonic()))
            if self._closed.wait(wait):
                break
            backoff = min(backoff * 2, self.max_backoff)
