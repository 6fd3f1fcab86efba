"""`edgeyolo train`: settings that cannot work are refused with exit code 2 before any data is read."""

from __future__ import annotations

import pytest

from edgeyolo.cli import main

pytest.importorskip("torch")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--imgsz", "250", "must be a positive multiple of 32"),
        ("--epochs", "0", "epochs must be at least 1"),
        ("--mosaic", "1.5", "mosaic is a probability in [0, 1]"),
        ("--scale", "1.0", "scale must be in [0, 1)"),
        ("--scale", "-0.1", "scale must be in [0, 1)"),
    ],
)
def test_bad_settings_are_refused(option: str, value: str, message: str, tmp_path, capsys) -> None:
    missing = tmp_path / "no-such-data.yaml"  # never opened: the settings are checked first
    assert main(["train", "--data", str(missing), "--out", str(tmp_path / "run"), option, value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_data_is_required_without_resume(tmp_path, capsys) -> None:
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
