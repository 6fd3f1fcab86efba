"""Runs many bad-input cases in one process and reports, for each, what a user would have seen.

`python -m tests.commands.corpus_driver CASES.json RESULTS.json` (the test starts it with an address-space
limit). A case is {"id", "mode": "cli", "argv": [...]} run through `edgeyolo.cli.main` with stdout/stderr
captured, or {"id", "mode": "api", "func": NAME, "args": {...}} run through the Python API. Each result
records the exit status (CLI), the error type and message (API), whether a traceback escaped, the seconds
taken and the process's peak RSS after the case.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

CASE_TIMEOUT_S = 60


class CaseTimeoutError(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeoutError(f"no answer within {CASE_TIMEOUT_S} s")


# -- API cases ---------------------------------------------------------------------------------------------
_DETECTORS: dict[str, Any] = {}


def _detector():
    from edgeyolo.defaults import shipped_onnx
    from edgeyolo.runtime import Detector

    if "onnx" not in _DETECTORS:
        _DETECTORS["onnx"] = Detector(shipped_onnx())
    return _DETECTORS["onnx"]


def make_frame(spec: dict[str, Any]) -> Any:
    """A frame from a JSON description: {"value": None | str | int | list} or an array spec."""
    if "value" in spec:
        return spec["value"]
    shape, dtype = tuple(spec["shape"]), spec.get("dtype", "uint8")
    if dtype == "object":
        arr = np.empty(shape, object)
    else:
        arr = (
            np.random.default_rng(0).integers(0, 255, shape).astype(dtype)
            if np.prod(shape)
            else np.zeros(shape, dtype)
        )
    if spec.get("fill") is not None:
        arr = np.full(shape, float(spec["fill"]), dtype)
    view = spec.get("view")
    if view == "transpose":
        arr = np.ascontiguousarray(arr.transpose(1, 0, 2)).transpose(1, 0, 2)  # same image, F-order
    elif view == "flip":
        arr = arr[::-1, ::-1]
    elif view == "slice":
        arr = arr[::2, ::3]
    elif view == "readonly":
        arr.setflags(write=False)
    return arr


def _check_detections(dets: Any, frame: np.ndarray) -> str | None:
    from edgeyolo.runtime import Detections

    if not isinstance(dets, Detections):
        return f"returned {type(dets).__name__}, not Detections"
    h, w = frame.shape[:2]
    if len(dets) and (
        not np.isfinite(dets.xyxy).all()
        or dets.xyxy.min() < 0
        or dets.xyxy[:, 2].max() > w
        or dets.xyxy[:, 3].max() > h
    ):
        return "boxes outside the frame or not finite"
    return None


def api_detect(args: dict[str, Any]) -> str | None:
    frame = make_frame(args["frame"])
    return _check_detections(_detector().detect(frame), frame)


def api_detect_batch(args: dict[str, Any]) -> str | None:
    if args.get("generator"):
        frames = (make_frame(f) for f in args["frames"])
        expected = [make_frame(f) for f in args["frames"]]
    elif "frames" in args:
        frames = expected = [make_frame(f) for f in args["frames"]]
    else:
        frames = make_frame(args["batch"])
        expected = list(frames)
    results = _detector().detect_batch(frames)
    if len(results) != len(expected):
        return f"{len(results)} results for {len(expected)} frames"
    for dets, frame in zip(results, expected, strict=True):
        if problem := _check_detections(dets, frame):
            return problem
    return None


def api_load_detector(args: dict[str, Any]) -> str | None:
    from edgeyolo.runtime import Detector

    with Detector(args["path"], backend=args.get("backend", "auto")) as det:
        frame = np.full((48, 64, 3), 90, np.uint8)
        return _check_detections(det.detect(frame), frame)


def api_load_checkpoint(args: dict[str, Any]) -> str | None:
    from edgeyolo.models.checkpoint import load_model

    model = load_model(args["path"], trust=args.get("trust", False))
    return None if model.strides == [8, 16, 32] else f"strides {model.strides}"


def api_create_model(args: dict[str, Any]) -> str | None:
    from edgeyolo.models.yolo import create_model

    model = create_model(args["path"])
    return None if model.strides else "no strides"


def api_load_data(args: dict[str, Any]) -> str | None:
    from edgeyolo.data.formats import load_data_yaml, load_split

    spec = load_data_yaml(args["path"])
    samples = load_split(spec, "val", report=lambda m: None)
    return None if all(np.isfinite(s.labels).all() for s in samples) else "non-finite labels"


def api_read_labels(args: dict[str, Any]) -> str | None:
    from edgeyolo.data.formats import read_labels

    seen: list[str] = []
    labels = read_labels(Path(args["path"]), 2, seen.append)
    ok = (
        labels.shape[1] == 5
        and np.isfinite(labels).all()
        and ((labels[:, 0] >= 0) & (labels[:, 0] < 2)).all()
    )
    if not ok:
        return f"labels {labels.tolist()} escaped the checks"
    if len(labels) != args["rows"]:
        return f"{len(labels)} rows kept, expected {args['rows']} ({seen})"
    return None


def api_open_source(args: dict[str, Any]) -> str | None:
    from edgeyolo.runtime.sources import open_source

    with open_source(
        args["spec"], on_warning=lambda m: None, connect_timeout=args.get("connect_timeout")
    ) as src:
        frames = [f for _, f in zip(range(3), src, strict=False)]
    if not frames:
        raise ValueError("no frames")  # the CLI reports this as "no readable frames"
    return None


API = {
    "detect": api_detect,
    "detect_batch": api_detect_batch,
    "load_detector": api_load_detector,
    "load_checkpoint": api_load_checkpoint,
    "create_model": api_create_model,
    "load_data": api_load_data,
    "read_labels": api_read_labels,
    "open_source": api_open_source,
}


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """One case → {"outcome": "ok" | "error" | "traceback" | "hang" | "wrong", ...}."""
    out, err = io.StringIO(), io.StringIO()
    result: dict[str, Any] = {"id": case["id"]}
    start = time.perf_counter()
    signal.alarm(CASE_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings are not what is judged here
            if case["mode"] == "cli":
                from edgeyolo.cli import main

                try:
                    code = main(case["argv"])
                except SystemExit as exc:  # argparse
                    code = exc.code if isinstance(exc.code, int) else 2
                result["exit"] = code
                result["outcome"] = "ok" if code == 0 else "error"
            else:
                problem = API[case["func"]](case.get("args", {}))
                result["outcome"] = "wrong" if problem else "ok"
                result["problem"] = problem
    except CaseTimeoutError as exc:
        result.update(outcome="hang", message=str(exc))
    except Exception as exc:  # what a user of the API would catch
        result.update(
            outcome="error",
            type=type(exc).__name__,
            mro=[c.__name__ for c in type(exc).__mro__],
            message=str(exc),
        )
        if case["mode"] == "cli":  # the CLI let an exception escape: the user saw a traceback
            result.update(outcome="traceback", traceback=traceback.format_exc()[-2000:])
    except BaseException as exc:  # MemoryError, RecursionError ... are failures in every mode
        result.update(outcome="traceback", type=type(exc).__name__, traceback=traceback.format_exc()[-2000:])
    finally:
        signal.alarm(0)
    result["seconds"] = round(time.perf_counter() - start, 3)
    result["stdout"] = out.getvalue()[-2000:]
    result["stderr"] = err.getvalue()[-4000:]
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


def main(argv: list[str]) -> int:
    cases = json.loads(Path(argv[0]).read_text())
    signal.signal(signal.SIGALRM, _alarm)
    results = [run_case(case) for case in cases]
    Path(argv[1]).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
