"""Precision as a runtime choice: the precision asked is the one that ran, and what cannot run is refused.

The choice itself (`openvino_precision`, `stored_precision`) is checked against capability lists of CPUs with
and without BF16; the backends are real (OpenVINO, onnxruntime, torch) on a tiny exported model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeyolo.runtime import Detector, PrecisionError, load_backend
from edgeyolo.runtime.precision import openvino_auto, openvino_precision, stored_precision

torch = pytest.importorskip("torch")
ov = pytest.importorskip("openvino")
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx  # noqa: E402
from edgeyolo.models.checkpoint import save_checkpoint  # noqa: E402
from edgeyolo.models.fuse import randomize_batchnorm  # noqa: E402
from edgeyolo.models.yolo import create_model  # noqa: E402

WITH_BF16 = ["BF16", "FP32", "INT8", "BIN", "EXPORT_IMPORT"]  # e.g. AVX-512 BF16 (this CI's kind of CPU)
WITHOUT_BF16 = ["FP32", "INT8", "BIN", "EXPORT_IMPORT"]  # e.g. AVX2-only
HERE_BF16 = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
needs_bf16 = pytest.mark.skipif(not HERE_BF16, reason="this CPU has no native BF16")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("precision")
    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("yolov5n-mobilenetv2", nc=3), seed=2).eval()
    model.names = ["a", "b", "c"]
    out = {"pt": save_checkpoint(root / "m.pt", model, imgsz=64)}
    for name, half in (("fp32", False), ("fp16", True)):
        out[name] = root / f"{name}.onnx"
        export_onnx(model, out[name], OnnxExportOptions(imgsz=(64, 64), half=half, report_unfused=False))
    return out


# -- the choice ------------------------------------------------------------------------------------------
def test_default_is_exact_even_where_bf16_is_native() -> None:
    assert openvino_precision(None, "fp32", WITH_BF16) == "fp32"
    assert openvino_precision(None, "int8", WITH_BF16) == "fp32"
    assert openvino_precision("fp32", "fp32", WITH_BF16) == "fp32"


def test_auto_is_the_fastest_native_precision() -> None:
    assert openvino_precision("auto", "fp32", WITH_BF16) == "bf16"
    assert openvino_precision("auto", "int8", WITH_BF16) == "bf16"
    assert openvino_precision("auto", "fp32", WITHOUT_BF16) == "fp32"
    assert openvino_precision("auto", "fp32", ["FP16", "FP32"], "GPU") == "fp16"


def test_bf16_on_a_cpu_without_it_says_what_is_missing_and_what_auto_runs() -> None:
    with pytest.raises(PrecisionError) as err:
        openvino_precision("bf16", "fp32", WITHOUT_BF16)
    message = str(err.value)
    assert "AVX-512 BF16 or AMX" in message and "--precision auto runs fp32 here" in message
    with pytest.raises(PrecisionError, match="native FP16"):
        openvino_precision("fp16", "fp32", WITH_BF16)


def test_a_bf16_marked_ir_runs_bf16_where_native_and_fp32_with_a_warning_elsewhere() -> None:
    assert openvino_precision(None, "bf16", WITH_BF16) == "bf16"
    with pytest.warns(UserWarning, match="no native BF16"):
        assert openvino_precision(None, "bf16", WITHOUT_BF16) == "fp32"


@pytest.mark.parametrize("bad", ["int8", "f32", "FP32", ""])
def test_unknown_names_are_refused(bad: str) -> None:
    with pytest.raises(PrecisionError, match="precision must be one of fp32, bf16, fp16, auto"):
        openvino_precision(bad, "fp32", WITH_BF16)


def test_stored_precision_backends_run_the_file_as_exported() -> None:
    assert stored_precision(None, "fp16", "onnxruntime", "x") == "fp16"
    assert stored_precision("auto", "int8", "onnxruntime", "x") == "fp32"
    assert stored_precision("fp16", "int8", "tensorrt", "x") == "fp16"  # INT8 engines fall back to fp16
    with pytest.raises(PrecisionError, match=r"exported in \(fp32\), so it cannot run bf16: do this"):
        stored_precision("bf16", "fp32", "onnxruntime", "do this")


# -- what really ran ---------------------------------------------------------------------------------------
def test_auto_on_this_machine_is_what_openvino_runs_for_auto(files) -> None:
    pytest.importorskip("openvino")
    with Detector(files["fp32"], backend="openvino", precision="auto") as det:
        assert det.backend.details["precision"] == openvino_auto("CPU")


def test_openvino_default_runs_fp32(files) -> None:
    with Detector(files["fp32"], backend="openvino") as det:
        assert det.backend.details["precision"] == "fp32"
        assert det.backend.details["inference_precision"] == "f32"


@needs_bf16
def test_openvino_bf16_is_what_runs_and_changes_the_numbers_a_little(files) -> None:
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    with load_backend(files["fp32"], "openvino", precision="fp32") as exact:
        ref = exact.infer(x)
    for asked in ("bf16", "auto"):
        with load_backend(files["fp32"], "openvino", precision=asked) as b:
            assert b.details["precision"] == "bf16"
            got = b.infer(x)
        rel = max(
            float(np.abs(g - r).max()) / max(1.0, float(np.abs(r).max()))
            for g, r in zip(got, ref, strict=True)
        )
        assert 1e-5 < rel < 0.1  # bf16 arithmetic really ran (fp32 would agree to ~1e-6), and is close


def test_onnxruntime_refuses_what_it_cannot_run(files) -> None:
    with Detector(files["fp32"], precision="auto") as det:
        assert det.backend.details["precision"] == "fp32"
    with pytest.raises(PrecisionError, match="--backend openvino"):
        Detector(files["fp32"], precision="bf16")
    with Detector(files["fp16"], precision="fp16") as det:
        assert det.backend.details["precision"] == "fp16"
    with pytest.raises(PrecisionError, match=r"exported in \(fp16\), so it cannot run fp32"):
        Detector(files["fp16"], precision="fp32")


def test_the_torch_reference_runs_fp32_only_on_cpu(files) -> None:
    with Detector(files["pt"], precision="fp32") as det:
        assert det.backend.details["precision"] == "fp32"
    for asked in ("bf16", "fp16"):
        with pytest.raises(PrecisionError, match="it is the reference"):
            Detector(files["pt"], precision=asked)


def test_precision_is_chosen_when_the_backend_is_loaded(files) -> None:
    backend = load_backend(files["fp32"], "onnxruntime")
    with pytest.raises(PrecisionError, match="pass it to load_backend"):
        Detector(backend, precision="fp32")
    backend.close()
