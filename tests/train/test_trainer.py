"""A real (tiny) training run: checkpoints written atomically, Ctrl-C leaves a resumable last.pt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from edgeyolo.data.synth import generate
from edgeyolo.errors import EdgeYoloError
from edgeyolo.models.checkpoint import load_checkpoint
from edgeyolo.train.config import TrainConfig
from edgeyolo.train.trainer import TrainingError, train


@pytest.fixture(scope="module")
def data_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "shapes", {"train": 16, "val": 4}, seed=3, imgsz=64)


def config(data_yaml: Path, out: Path, **kw) -> TrainConfig:
    settings = dict(epochs=2, imgsz=64, batch=8, workers=0, optimizer="AdamW", lr0=0.002)
    return TrainConfig(cfg="yolov5n-mobilenetv2", data=str(data_yaml), out=str(out), **{**settings, **kw})


def test_interrupt_then_resume(data_yaml: Path, tmp_path: Path) -> None:
    def interrupt_after_first_epoch(message: str) -> None:
        if message.startswith("epoch 1 "):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config(data_yaml, tmp_path), log=interrupt_after_first_epoch)
    last = load_checkpoint(tmp_path / "last.pt")  # weights_only loading
    assert last.meta["train"]["epochs_done"] == 0  # the interrupted epoch is redone
    assert not list(tmp_path.glob(".*tmp"))

    lines: list[str] = []
    result = train(config(data_yaml, tmp_path, resume=str(tmp_path / "last.pt")), log=lines.append)
    assert any(line.startswith("resuming") for line in lines)
    assert [h["epoch"] for h in result.history] == [1, 2]
    best = load_checkpoint(result.best)
    assert best.names == ["circle", "square", "triangle", "star", "cross"] and best.imgsz == 64
    assert 0.0 <= best.meta["map50_95"] <= best.meta["map50"] <= 1.0
    assert "train" not in best.meta  # best.pt carries no optimiser state
    assert all(torch.isfinite(v).all() for v in best.state_dict.values() if v.is_floating_point())
    with pytest.raises(TrainingError, match="already finished"):
        train(config(data_yaml, tmp_path, resume=str(result.last)), log=lambda m: None)


def test_resume_continues_with_the_saved_recipe(data_yaml: Path, tmp_path: Path) -> None:
    def interrupt_after_first_epoch(message: str) -> None:
        if message.startswith("epoch 1 "):
            raise KeyboardInterrupt

    recipe = dict(mosaic=0.0, scale=0.25, warmup_epochs=0.0, label_smoothing=0.1, val_every=2, lr0=0.001)
    with pytest.raises(KeyboardInterrupt):
        train(config(data_yaml, tmp_path, **recipe), log=interrupt_after_first_epoch)
    last = str(tmp_path / "last.pt")
    result = train(TrainConfig(data="not-read.yaml", resume=last, workers=0), log=lambda m: None)
    assert result.last == tmp_path / "last.pt"  # continues in its own folder
    saved = load_checkpoint(result.last).meta["train"]["config"]
    assert {k: saved[k] for k in recipe} == recipe
    assert saved["data"] == str(data_yaml) and saved["cfg"] == "yolov5n-mobilenetv2" and saved["epochs"] == 2
    assert [h["epoch"] for h in result.history] == [1, 2] and "map50" in result.history[-1]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (dict(imgsz=100), "multiple of 32"),
        (dict(mosaic=-0.1), "mosaic is a probability"),
        (dict(scale=1.0), "scale must be in [0, 1)"),
        (dict(epochs=0), "epochs must be at least 1"),
        (dict(batch=0), "batch must be at least 1"),
        (dict(workers=-1), "workers must be 0 or more"),
    ],
)
def test_impossible_settings_are_refused_by_the_api(setting: dict, message: str) -> None:
    with pytest.raises(EdgeYoloError, match=re.escape(message)):
        TrainConfig(**setting)


def test_a_cached_run_with_a_worker_process_saves_plain_finite_weights(
    data_yaml: Path, tmp_path: Path
) -> None:
    lines: list[str] = []
    result = train(config(data_yaml, tmp_path, epochs=1, workers=1, cache=True), log=lines.append)
    assert "cached 16/16 training images in memory" in lines
    weights = load_checkpoint(result.last).state_dict
    assert all(v.is_contiguous() for v in weights.values())  # channels-last in training, plain on disk
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
