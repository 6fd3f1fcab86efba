"""Pickles are screened before anything is unpickled: code in them never runs, whatever the flags."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from edgeyolo.models.checkpoint import CheckpointError, load_checkpoint
from edgeyolo.models.foreign.safe_pickle import UnsupportedCheckpointError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "foreign"


class TouchPayload:
    """Unpickling this creates the marker file (via pathlib)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class SystemPayload:
    """Unpickling this runs a shell command (os.system) that creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", [TouchPayload, SystemPayload])
@pytest.mark.parametrize("trust", [False, True])
def test_code_in_a_pickle_never_runs(tmp_path: Path, payload, trust: bool) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "x": payload(marker)}, path)
    with pytest.raises(CheckpointError, match=r"refusing .*(builtins\.getattr|posix\.system)"):
        load_checkpoint(path, trust=trust)
    assert not marker.exists()


def test_code_beside_a_real_yolov5_model_never_runs(tmp_path: Path) -> None:
    """A genuine YOLOv5 checkpoint with one extra entry that would run code: refused as a whole."""
    marker = tmp_path / "marker"
    # re-pickle the fixture's top-level dict with a payload added, keeping the YOLOv5 module classes
    # by name: build fake `models.*` modules only for the duration of the save
    path = tmp_path / "best.pt"
    with _fake_modules({"models.common": ["Conv"], "models.yolo": ["DetectionModel"]}) as mods:
        model = mods["models.yolo"].DetectionModel()
        model.add_module("0", mods["models.common"].Conv())
        torch.save({"model": model, "ema": None, "opt": {}, "x": SystemPayload(marker)}, path)
    with pytest.raises(CheckpointError, match=r"refusing .*posix\.system"):
        load_checkpoint(path, trust=True)
    assert not marker.exists()


def test_ultralytics_checkpoint_is_an_unsupported_architecture(tmp_path: Path) -> None:
    path = tmp_path / "yolov8n.pt"
    with _fake_modules({"ultralytics.nn.tasks": ["DetectionModel"]}) as mods:
        torch.save({"model": mods["ultralytics.nn.tasks"].DetectionModel(), "train_args": {}}, path)
    with pytest.raises(UnsupportedCheckpointError, match="not a supported architecture"):
        load_checkpoint(path)


def test_unknown_module_class_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ghost.pt"
    with _fake_modules({"models.common": ["GhostConv"], "models.yolo": ["DetectionModel"]}) as mods:
        model = mods["models.yolo"].DetectionModel()
        model.add_module("0", mods["models.common"].GhostConv())
        torch.save({"model": model}, path)
    with pytest.raises(UnsupportedCheckpointError, match=r"models\.common\.GhostConv.*YOLOv5"):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "cut.pt"
    data = (FIXTURES / "yolov5-mnv2-nc3-best.pt").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt zip"):
        load_checkpoint(path)


def test_state_dict_of_another_model_names_the_keys(tmp_path: Path) -> None:
    nc80_yaml = (FIXTURES / "yolov5-mnv2-nc80.yaml").read_text()
    with pytest.raises(CheckpointError, match=r"wrong shape: model\.2"):
        from edgeyolo.models.checkpoint import load_model

        load_model(FIXTURES / "yolov5-mnv2-nc3-state_dict.pt", cfg_text=nc80_yaml)


class _fake_modules:
    """Register throwaway modules holding nn.Module subclasses so torch.save pickles them by those names."""

    def __init__(self, spec: dict[str, list[str]]) -> None:
        self.spec = spec
        self.added: list[str] = []

    def __enter__(self) -> dict[str, types.ModuleType]:
        mods = {}
        for dotted, classes in self.spec.items():
            parts = dotted.split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name not in sys.modules:
                    sys.modules[name] = types.ModuleType(name)
                    self.added.append(name)
            mod = sys.modules[dotted]
            for cls in classes:
                setattr(mod, cls, type(cls, (nn.Module,), {"__module__": dotted}))
            mods[dotted] = mod
        return mods

    def __exit__(self, *exc) -> None:
        for name in reversed(self.added):
            del sys.modules[name]
