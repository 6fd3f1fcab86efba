"""`edgeyolo val`: table and JSON output, errors exit 2, the extra named when pycocotools is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeyolo.cli import main
from tests.conftest import REPO
from tests.val_helpers import make_dataset

pytest.importorskip("pycocotools")
torch = pytest.importorskip("torch")
from edgeyolo.models.checkpoint import save_checkpoint  # noqa: E402
from edgeyolo.models.yolo import create_model  # noqa: E402

NAMES = ["ball", "box"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli_val")
    torch.manual_seed(0)
    model = create_model("yolov5-mobilenetv2", nc=2).eval()
    model.names = list(NAMES)
    return save_checkpoint(root / "m.pt", model, imgsz=64), make_dataset(root / "ds", NAMES)


def test_json_output(setup, capsys) -> None:
    pt, data = setup
    assert main(["val", "--model", str(pt), "--data", str(data), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert 0 <= record["map50_95"] <= record["map50"] <= 1
    assert record["images"] == 4 and record["instances"] == 6
    assert [r["name"] for r in record["per_class"]] == NAMES
    assert set(record["times_ms"]) == {"preprocess", "inference", "postprocess"}


def test_table_output(setup, capsys) -> None:
    pt, data = setup
    assert main(["val", "--model", str(pt), "--data", str(data), "--imgsz", "64", "--batch", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Class", "Images", "Instances", "mAP50", "mAP50-95"]
    assert out[1].split()[:3] == ["all", "4", "6"]
    assert out[-1].startswith("Speed per image (fp32):")


def test_side_by_side_columns_align_for_long_model_paths(setup, tmp_path: Path, capsys) -> None:
    pt, data = setup
    long_copy = tmp_path / ("a-model-with-a-rather-long-descriptive-file-name" * 2 + ".pt")
    long_copy.write_bytes(pt.read_bytes())
    assert main(["val", "--model", str(pt), str(long_copy), "--data", str(data), "--imgsz", "64"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()[-3:]
    assert header.split() == ["model", "mAP50-95", "mAP50", "infer", "ms"]
    assert [row.split()[0] for row in rows] == [str(pt), str(long_copy)]
    assert len({len(header), *(len(row) for row in rows)}) == 1
    assert rows[0].split()[1:3] == rows[1].split()[1:3]


def test_class_count_mismatch_exits_2(setup, tmp_path: Path, capsys) -> None:
    pt, _ = setup
    three = make_dataset(tmp_path, ["a", "b", "c"])
    assert main(["val", "--model", str(pt), "--data", str(three)]) == 2
    assert "has 2 classes but" in capsys.readouterr().err


def test_missing_model_exits_2(setup, tmp_path: Path, capsys) -> None:
    assert main(["val", "--model", str(tmp_path / "nope.onnx"), "--data", str(setup[1])]) == 2
    assert "nope.onnx" in capsys.readouterr().err


def test_missing_pycocotools_names_the_extra() -> None:
    import subprocess
    import sys

    code = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pycocotools': raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from edgeyolo.cli import main\n"
        "sys.exit(main(['val', '--model', 'm.onnx', '--data', 'd.yaml']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'edgeyolo[val]'" in proc.stderr and "Traceback" not in proc.stderr
