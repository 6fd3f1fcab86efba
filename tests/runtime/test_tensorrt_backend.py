"""TensorRT backend: sidecar round trip and every refusal, backend selection, the missing-library error.

The sidecar logic takes the environment as plain data (`TensorRTEnv`), so each mismatch is tested here
without TensorRT; loading a real engine is covered by the `tensorrt`-marked tests in tests/export.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from edgeyolo.runtime.backends import (
    BackendError,
    MissingBackendError,
    default_backend,
    load_backend,
)
from edgeyolo.runtime.backends.tensorrt_backend import device_index
from edgeyolo.runtime.backends.tensorrt_sidecar import (
    EngineRecord,
    TensorRTEnv,
    check_engine_file,
    check_sidecar,
    read_sidecar,
    rebuild_command,
    sidecar_path,
)
from edgeyolo.runtime.contract import Contract, sha256_file
from tests.conftest import run_without_torch

HAVE_TRT = importlib.util.find_spec("tensorrt") is not None

CONTRACT = Contract(
    names=("circle", "square"),
    strides=(8, 16, 32),
    anchors=((10, 13, 16, 30), (30, 61, 62, 45), (116, 90, 156, 198)),
    imgsz=(320, 320),
    precision="fp16",
    dynamic_batch=True,
)
ORIN = TensorRTEnv("10.3.0", "Orin (nvgpu)", "8.7", dla_cores=2)


def _record(**changes) -> EngineRecord:
    base = EngineRecord(
        contract=CONTRACT,
        tensorrt_version="10.3.0",
        gpu_name="Orin (nvgpu)",
        compute_capability="8.7",
        precision="fp16",
        onnx_sha256="a" * 64,
        engine_sha256="b" * 64,
        built_at="2025-01-01T00:00:00+00:00",
        build_seconds=12.5,
        workspace_gb=2.0,
        profile={"images": [[1, 3, 320, 320], [1, 3, 320, 320], [8, 3, 320, 320]]},
        rebuild="edgeyolo export --weights shapes.pt --format trt --fp16 --dynamic batch -o m.engine",
        inputs=({"name": "images", "dtype": "float32", "shape": [-1, 3, 320, 320]},),
        outputs=({"name": "p3", "dtype": "float32", "shape": [-1, 21, 40, 40]},),
    )
    return dataclasses.replace(base, **changes)


def _write_engine(tmp_path: Path, record: EngineRecord, plan: bytes = b"not really a plan") -> Path:
    engine = tmp_path / "model.engine"
    engine.write_bytes(plan)
    record = dataclasses.replace(record, engine_sha256=sha256_file(engine))
    sidecar_path(engine).write_text(record.to_json())
    return engine


# -- sidecar file ---------------------------------------------------------------------------------
def test_sidecar_round_trip(tmp_path: Path) -> None:
    record = _record()
    engine = _write_engine(tmp_path, record)
    assert sidecar_path(engine) == tmp_path / "model.engine.json"
    back = read_sidecar(engine)
    assert back == dataclasses.replace(record, engine_sha256=sha256_file(engine))
    data = json.loads(sidecar_path(engine).read_text())
    assert Contract.from_dict(data["edgeyolo"]) == CONTRACT  # what serving tools read
    assert data["tensorrt"]["compute_capability"] == "8.7" and data["tensorrt"]["precision"] == "fp16"
    assert data["inputs"][0]["name"] == "images" and data["outputs"][0]["shape"] == [-1, 21, 40, 40]


def test_missing_sidecar_says_what_to_do(tmp_path: Path) -> None:
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"plan")
    with pytest.raises(BackendError, match=r"no sidecar model\.engine\.json.*edgeyolo export .*--format trt"):
        read_sidecar(engine)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "needs both"),
        (json.dumps({"edgeyolo": {"names": ["a"]}, "tensorrt": {}}), "lacks"),
        ("SCHEMA", "newer than this edgeyolo"),
        ("NO_VERSION", "lacks tensorrt_version"),
    ],
)
def test_malformed_sidecars_are_refused(tmp_path: Path, text: str, message: str) -> None:
    data = json.loads(_record().to_json())
    if text == "SCHEMA":
        data["tensorrt"]["schema"] = 99
        text = json.dumps(data)
    elif text == "NO_VERSION":
        del data["tensorrt"]["tensorrt_version"]
        text = json.dumps(data)
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"plan")
    sidecar_path(engine).write_text(text)
    with pytest.raises(BackendError, match=message):
        read_sidecar(engine)


def test_sidecar_of_another_plan_is_refused(tmp_path: Path) -> None:
    engine = _write_engine(tmp_path, _record())
    check_engine_file(read_sidecar(engine), engine)
    engine.write_bytes(b"a plan built later")
    with pytest.raises(BackendError, match=r"describes another engine.*Rebuild both"):
        check_engine_file(read_sidecar(engine), engine)


# -- environment checks ---------------------------------------------------------------------------
def test_same_environment_passes_silently() -> None:
    assert check_sidecar(_record(), ORIN) == []
    assert check_sidecar(_record(dla_core=1), ORIN) == []


def test_other_gpu_with_same_compute_capability_only_warns() -> None:
    record = _record(gpu_name="NVIDIA RTX A6000", compute_capability="8.6")
    here = TensorRTEnv("10.3.0", "NVIDIA GeForce RTX 3090", "8.6")
    (warning,) = check_sidecar(record, here)
    assert "RTX A6000" in warning and "RTX 3090" in warning and "rebuild" in warning


def _refusal(record: EngineRecord, env: TensorRTEnv) -> str:
    with pytest.raises(BackendError) as info:
        check_sidecar(record, env)
    return str(info.value)


def test_other_tensorrt_version_is_refused_with_where_and_how() -> None:
    message = _refusal(_record(), TensorRTEnv("10.7.0", "Orin (nvgpu)", "8.7"))
    assert "TensorRT 10.3.0 built it, this is TensorRT 10.7.0" in message
    assert "Built with TensorRT 10.3.0 on Orin (nvgpu) (compute capability 8.7)" in message
    assert "here: TensorRT 10.7.0 on Orin (nvgpu)" in message
    assert message.endswith(_record().rebuild)


def test_other_compute_capability_is_refused() -> None:
    message = _refusal(_record(), TensorRTEnv("10.3.0", "Tesla T4", "7.5"))
    assert "compute capability 8.7 (Orin (nvgpu)), this GPU is 7.5 (Tesla T4)" in message
    assert "TensorRT 10.3.0 built it" not in message  # only what differs is listed


def test_missing_dla_core_is_refused() -> None:
    desktop = TensorRTEnv("10.3.0", "Orin (nvgpu)", "8.7", dla_cores=0)
    assert "DLA core 0, this device has no DLA" in _refusal(_record(dla_core=0), desktop)
    one = dataclasses.replace(desktop, dla_cores=1)
    assert "DLA core 1, this device has only 1 DLA cores" in _refusal(_record(dla_core=1), one)


def test_every_mismatch_is_listed_and_a_command_is_made_when_none_was_recorded() -> None:
    record = _record(rebuild="", dla_core=0)
    message = _refusal(record, TensorRTEnv("8.6.1", "Tesla T4", "7.5"))
    assert "TensorRT 10.3.0 built it" in message and "this GPU is 7.5" in message and "no DLA" in message
    assert message.endswith(rebuild_command(record))


def test_rebuild_command_reflects_the_build() -> None:
    record = _record(
        precision="int8",
        dla_core=1,
        contract=dataclasses.replace(
            CONTRACT, outputs="nms", max_det=100, nms_conf=0.3, nms_iou=0.5, input="uint8-nhwc-bgr"
        ),
    )
    command = rebuild_command(record, weights="shapes.pt", output="m.engine")
    assert command.startswith(
        "edgeyolo export --weights shapes.pt --format trt --imgsz 320,320 --int8 --data"
    )
    for part in ("--dynamic batch", "--outputs nms --max-det 100 --conf 0.3 --iou 0.5", "--input uint8"):
        assert part in command
    assert command.endswith("--workspace 2 --dla 1 -o m.engine")
    plain = rebuild_command(_record(precision="fp32", workspace_gb=0.0, contract=CONTRACT))
    assert plain == "edgeyolo export --weights <model.pt> --format trt --imgsz 320,320 --dynamic batch"


# -- backend selection ----------------------------------------------------------------------------
def test_engine_suffixes_select_tensorrt() -> None:
    assert default_backend("m.engine") == "tensorrt"
    assert default_backend("M.PLAN") == "tensorrt"
    with pytest.raises(BackendError, match=r"\.engine/\.plan"):
        default_backend("m.bin")


def test_device_strings() -> None:
    assert device_index("cuda") == 0 and device_index("cuda:1") == 1 and device_index("cpu") == 0
    with pytest.raises(BackendError, match="cuda or cuda:N"):
        device_index("npu")
    with pytest.raises(BackendError, match="cuda or cuda:N"):
        device_index("cuda:x")


@pytest.mark.skipif(HAVE_TRT, reason="checks the message given where TensorRT is missing")
def test_missing_tensorrt_names_the_extra(tmp_path: Path) -> None:
    engine = _write_engine(tmp_path, _record())
    with pytest.raises(MissingBackendError, match=r"pip install 'edgeyolo\[tensorrt\]'"):
        load_backend(engine)


@pytest.mark.skipif(HAVE_TRT, reason="checks the message given where TensorRT is missing")
def test_sidecar_and_backend_selection_are_torch_free(tmp_path: Path) -> None:
    engine = _write_engine(tmp_path, _record())
    code = f"""
from edgeyolo.runtime.backends import MissingBackendError, load_backend
from edgeyolo.runtime.backends.tensorrt_sidecar import read_sidecar
assert read_sidecar({str(engine)!r}).precision == "fp16"
try:
    load_backend({str(engine)!r})
except MissingBackendError as exc:
    print("MISSING", exc)
"""
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr
    assert "MISSING" in result.stdout and "edgeyolo[tensorrt]" in result.stdout


@pytest.mark.parametrize("asked", ["bf16", "fp32"])
def test_a_precision_other_than_the_engines_is_refused_before_tensorrt_loads(
    tmp_path: Path, asked: str
) -> None:
    from edgeyolo.runtime import PrecisionError

    engine = _write_engine(tmp_path, _record())  # an fp16 engine
    with pytest.raises(
        PrecisionError, match=rf"exported in \(fp16\), so it cannot run {asked}: .*fixed when"
    ):
        load_backend(engine, precision=asked)
