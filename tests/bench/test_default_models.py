"""The bench's default rows: what is left out, and why, when a row cannot be made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeyolo.bench.default_models import BenchContext, _openvino_ir


class _NoTorch(BenchContext):
    @property
    def torch(self) -> bool:
        return False


def test_the_uint8_input_row_needs_torch_and_says_so(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    ctx = _NoTorch("cpu", None, cache=tmp_path)
    assert _openvino_ir("int8", uint8_input=True)(ctx) is None
    assert ctx.notes == ["OpenVINO IR INT8 with uint8 input: exporting it needs torch"]
    assert not list(tmp_path.iterdir())  # nothing was exported


def test_no_openvino_rows_for_a_gpu_bench(tmp_path: Path) -> None:
    ctx = BenchContext("gpu", None, cache=tmp_path)
    assert _openvino_ir("int8", uint8_input=True)(ctx) is None
    assert _openvino_ir("fp32")(ctx) is None
