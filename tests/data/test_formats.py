"""data.yaml: split paths are relative to the file (or its `path:` key), wherever it is given from."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeyolo.data.formats import load_data_yaml


@pytest.mark.parametrize("extra", ["", "path: .\n", "path: sub\n"])
def test_relative_data_yaml_resolves_splits_next_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str
) -> None:
    root = tmp_path / "ds"
    base = root / "sub" if "sub" in extra else root
    (base / "images" / "val").mkdir(parents=True)
    (root / "data.yaml").write_text(f"{extra}names: [a]\nval: images/val\n")
    monkeypatch.chdir(tmp_path)
    spec = load_data_yaml(Path("ds/data.yaml"))
    assert spec.splits["val"] == [(base / "images" / "val").resolve()]


def test_absolute_path_key_is_kept(tmp_path: Path) -> None:
    (tmp_path / "elsewhere" / "images").mkdir(parents=True)
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path / 'elsewhere'}\nnames: [a]\nval: images\n")
    assert load_data_yaml(tmp_path / "data.yaml").splits["val"] == [tmp_path / "elsewhere" / "images"]
