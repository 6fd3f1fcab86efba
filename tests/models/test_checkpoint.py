"""Checkpoints round-trip, and anything that would need arbitrary unpickling is refused."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from edgeyolo.models.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from edgeyolo.models.yolo import create_model


@pytest.fixture(scope="module")
def small_model():
    model = create_model("yolov4-lite-mobilenetv1", nc=2).eval()
    model.names = ["cat", "dog"]
    return model


def test_round_trip_is_exact(tmp_path: Path, small_model) -> None:
    path = save_checkpoint(tmp_path / "m.pt", small_model, imgsz=320, meta={"epoch": 3})
    with zipfile.ZipFile(path) as zf:  # a plain torch zip
        assert any(n.endswith("data.pkl") for n in zf.namelist())
    assert not list(tmp_path.glob(".*tmp"))  # no temporary left behind
    ckpt = load_checkpoint(path)
    assert ckpt.names == ["cat", "dog"] and ckpt.imgsz == 320 and ckpt.meta["epoch"] == 3
    loaded = load_model(path)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(loaded(x), small_model(x))
    assert loaded.names == ["cat", "dog"]


class Payload:
    """Unpickling this would run code."""

    def __reduce__(self):
        return (Path.touch, (Path(MARKER),))


MARKER = ""


def test_malicious_checkpoint_is_refused(tmp_path: Path, small_model) -> None:
    global MARKER
    MARKER = str(tmp_path / "pwned")
    path = tmp_path / "evil.pt"
    torch.save(
        {
            "model": small_model.state_dict(),
            "cfg": small_model.cfg.text,
            "names": ["a", "b"],
            "imgsz": 64,
            "meta": {"x": Payload()},
        },
        path,
    )
    with pytest.raises(CheckpointError, match="--trust-checkpoint"):
        load_checkpoint(path)
    assert not Path(MARKER).exists()


def _save_with_meta_object(path: Path, model, obj) -> None:
    payload = {"model": model.state_dict(), "cfg": model.cfg.text, "names": ["a", "b"], "imgsz": 64}
    torch.save({**payload, "meta": {"obj": obj}}, path)


def test_trusted_checkpoint_loads_with_warning(tmp_path: Path, small_model) -> None:
    path = tmp_path / "custom.pt"  # pickles an edgeyolo object: --trust-checkpoint is for such files
    _save_with_meta_object(path, small_model, Checkpoint(state_dict={}, cfg="", names=[], imgsz=1))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    with pytest.warns(UserWarning, match="trusted explicitly"):
        ckpt = load_checkpoint(path, trust=True)
    assert ckpt.names == ["a", "b"]


def test_trust_never_unpickles_classes_outside_edgeyolo(tmp_path: Path, small_model) -> None:
    path = tmp_path / "custom.pt"
    _save_with_meta_object(path, small_model, _Plain())
    with pytest.raises(CheckpointError, match=r"test_checkpoint\._Plain"):
        load_checkpoint(path, trust=True)


class _Plain:
    pass


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a checkpoint at all",
        b"these are not weights",
        pickle.dumps({"model": 1}),
        b"PK\x03\x04junk",
    ],
    ids=["empty", "text", "text2", "plain-pickle", "broken-zip"],
)
def test_non_checkpoint_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_foreign_torch_file_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"state": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not an edgeyolo checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_mismatched_cfg_and_weights(tmp_path: Path, small_model) -> None:
    path = save_checkpoint(tmp_path / "m.pt", small_model)
    other = create_model("yolov4-lite-mobilenetv2").cfg.text
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(path, cfg_text=other)
