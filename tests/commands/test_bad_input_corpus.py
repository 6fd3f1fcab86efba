"""The standing bad-input suite (issue 17): a generated corpus of malformed frames, files, checkpoints, model
YAMLs, datasets and ONNX models, run through the CLI and the Python API.

Every case must end in a clear one-line error (CLI: exit 2, the error line last, no traceback) or a correct
result, within its time limit, in a process whose address space is capped at 4 GiB (RLIMIT_AS) and whose
peak resident memory stays under 1.5 GiB. The bulk runs in one driver process (`corpus_driver`: the CLI's
`main` and the API in-process, ~1 minute); a selection of the most dangerous cases also runs as separate
`edgeyolo` processes, each capped the same way and measured on its own (peak RSS under 1 GiB).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter

import pytest

from tests.commands.corpus import CATEGORIES, build_corpus
from tests.commands.corpus_judge import judge
from tests.conftest import REPO

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("openvino")
pytest.importorskip("pycocotools")

ADDRESS_SPACE_LIMIT = 4 << 30  # bytes, RLIMIT_AS of every process that runs a case
DRIVER_PEAK_RSS = 1536 << 20  # bytes, for the one process that runs them all
CLI_PEAK_RSS = 1 << 30  # bytes, for each separate `edgeyolo` process
MIN_CASES = 200


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("corpus")
    cases = build_corpus(root)
    (root / "cases.json").write_text(json.dumps(cases))
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.commands.corpus_driver",
            str(root / "cases.json"),
            str(root / "results.json"),
        ],
        preexec_fn=_limit_address_space,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
        env=_env(),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = {r["id"]: r for r in json.loads((root / "results.json").read_text())}
    verdicts = {c["id"]: judge(c, results[c["id"]]) for c in cases}
    counts = Counter(v[0] for v in verdicts.values())
    summary = {
        "cases": len(cases),
        "clear_errors": counts["error"],
        "correct_results": counts["ok"],
        "failures": counts["fail"],
        "tracebacks": sum(r["outcome"] == "traceback" for r in results.values()),
        "hangs": sum(r["outcome"] == "hang" for r in results.values()),
        "peak_rss_mib": max(r["maxrss_kib"] for r in results.values()) // 1024,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(f"\nbad-input corpus: {json.dumps(summary)}")
    return {
        "root": root,
        "cases": {c["id"]: c for c in cases},
        "results": results,
        "verdicts": verdicts,
        "summary": summary,
    }


def test_corpus_is_large_and_covers_every_category_through_cli_and_api(corpus: dict) -> None:
    cases = list(corpus["cases"].values())
    assert len(cases) >= MIN_CASES
    for category in CATEGORIES:
        modes = Counter(c["mode"] for c in cases if c["category"] == category)
        assert sum(modes.values()) >= 20, (category, modes)
        assert category == "frame-arrays" or modes["cli"] >= 10, (
            category,
            modes,
        )  # arrays exist only in the API
    assert {c["expect"] for c in cases} == {"error", "ok", "any"}


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_case_is_a_clear_error_or_a_correct_result(category: str, corpus: dict) -> None:
    failures = [
        f"{case_id}: {why}"
        for case_id, (verdict, why) in corpus["verdicts"].items()
        if verdict == "fail" and corpus["cases"][case_id]["category"] == category
    ]
    assert not failures, "\n".join(failures)


def test_no_traceback_no_hang_and_bounded_memory(corpus: dict) -> None:
    summary = corpus["summary"]
    assert summary["tracebacks"] == 0 and summary["hangs"] == 0, summary
    assert summary["peak_rss_mib"] * 2**20 < DRIVER_PEAK_RSS, summary


# The most dangerous cases, each in its own capped `edgeyolo` process (fresh interpreter, real exit status).
SEPARATE = [
    "frame-files/png-100000x100000.png",
    "frame-files/jpeg-magic-junk.jpg",
    "frame-files/video-text.mp4",
    "frame-files/empty-folder",
    "frame-files/conf-nan",
    "frame-files/folder-good-and-corrupt",
    "checkpoints/info-storage-bomb",
    "checkpoints/detect-storage-bomb",
    "checkpoints/info-hello",
    "checkpoints/trusted-hello",
    "checkpoints/info-truncated-0.6",
    "checkpoints/info-nan-stride",
    "checkpoints/detect-imgsz-str",
    "checkpoints/info-legacy-format",
    "model-yamls/info-width-1000",
    "model-yamls/info-nc-ten-million",
    "model-yamls/info-depth-1000",
    "model-yamls/info-row-number-million",
    "model-yamls/info-alias-bomb",
    "model-yamls/info-deep-nesting",
    "model-yamls/info-width-inf",
    "datasets/val-label-nan-class",
    "datasets/val-bad-syntax",
    "datasets/val-val-dict",
    "datasets/val-label-long-line",
    "onnx-models/detect-meta-names-two",
    "onnx-models/detect-truncated-0.5",
    "onnx-models/detect-identity-graph",
    "onnx-models/openvino-meta-as-decoded",
    "onnx-models/detect-valid",
]


def _run_capped(argv: list[str], timeout: float) -> tuple[int | None, str, int]:
    """Run `edgeyolo argv` under the address-space cap; (exit status or None on timeout, stderr, peak RSS
    in bytes of that process alone, from wait4)."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgeyolo.cli", *argv],
            preexec_fn=_limit_address_space,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            cwd=REPO,
            env=_env(),
        )
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return None, "", usage.ru_maxrss * 1024
            time.sleep(0.05)
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        err.seek(0)
        return code, err.read(), usage.ru_maxrss * 1024


@pytest.mark.parametrize("case_id", SEPARATE)
def test_dangerous_cases_in_their_own_capped_process(case_id: str, corpus: dict) -> None:
    case = corpus["cases"][case_id]
    code, err, peak = _run_capped(case["argv"], timeout=120)
    assert code is not None, f"{case_id}: no answer within 120 s (hang)"
    verdict, why = judge(case, {"outcome": "ok" if code == 0 else "error", "exit": code, "stderr": err})
    assert verdict != "fail", f"{case_id}: {why}"
    assert verdict == corpus["verdicts"][case_id][0]  # the same answer as in the shared driver process
    assert peak < CLI_PEAK_RSS, f"{case_id}: peak RSS {peak / 2**20:.0f} MiB"
