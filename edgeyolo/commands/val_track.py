"""`edgeyolo val --track SEQUENCES`: HOTA, MOTA, IDF1 and ID switches of a detector + tracker on
MOTChallenge sequences (e.g. from `edgeyolo data synth --video`), or of the tracker alone on noisy
ground truth (``--noise``) beside the ceiling those detections allow."""

from __future__ import annotations

import argparse
import json
import sys

from edgeyolo.commands.track_args import build_tracker, tracker_kwargs
from edgeyolo.errors import EdgeYoloError

TRACK_CONF = 0.1  # ByteTrack's second stage feeds on low-score boxes


def run_track(args: argparse.Namespace) -> int:
    from edgeyolo.mot_eval.metrics import format_table, trackers_eval
    from edgeyolo.mot_eval.noise import Noise
    from edgeyolo.mot_eval.run import evaluate_tracking

    trackers_eval()  # fail early, naming what to install
    kwargs = tracker_kwargs(args)
    build_tracker(args.track, args)  # bad options fail before any frame is read

    def make_tracker(info):
        return build_tracker(args.track, args, info.frame_rate)

    def progress(name: str) -> None:
        if not args.json or sys.stderr.isatty():
            print(f"tracking {name}", file=sys.stderr)

    runs = []
    if args.noise:
        if args.model:
            raise EdgeYoloError("--noise tracks noisy ground truth: it takes no --model")
        report = evaluate_tracking(args.track_sequences, make_tracker, noise=Noise(), seed=args.seed,
                                   save=args.save, progress=progress)  # fmt: skip
        runs.append(("tracker alone on noisy ground truth", report))
    else:
        for model in args.model or [_shipped()]:
            detector = _detector(args, model)
            with detector:
                report = evaluate_tracking(args.track_sequences, make_tracker, detector=detector,
                                           save=args.save, progress=progress)  # fmt: skip
            runs.append((model, report))
    for name, report in runs:
        report.settings = {"method": args.track, "options": kwargs, "model": None if args.noise else name}
        if args.noise:
            report.settings["noise"] = {
                "drop": 0.1,
                "false_positives": 0.05,
                "jitter_px": 3.0,
                "seed": args.seed,
            }
        else:
            report.settings["conf"] = args.conf if args.conf is not None else TRACK_CONF
    if args.json:
        docs = [r.to_dict() for _, r in runs]
        print(json.dumps(docs[0] if len(docs) == 1 else {"models": docs}))
        return 0
    for name, report in runs:
        rows = [(s.name, s.summary()) for s in report.sequences] + [("COMBINED", report.combined.summary())]
        if report.ceiling is not None:
            rows.append(("CEILING", report.ceiling.summary()))
        print(f"{name}:\n{format_table(rows)}")
        if report.ceiling is not None:
            print(f"IDF1 / ceiling IDF1: {report.to_dict()['idf1_of_ceiling']:.4f}")
    return 0


def _shipped() -> str:
    from edgeyolo.defaults import shipped_onnx

    return str(shipped_onnx())


def _detector(args: argparse.Namespace, model: str):
    from edgeyolo.commands.detect import _load
    from edgeyolo.runtime import Detector

    conf = args.conf if args.conf is not None else TRACK_CONF
    settings = argparse.Namespace(**{**vars(args), "model": model, "conf": conf, "classes": None})
    return _load(settings, Detector)
