"""The YAML parser resolves names through the registry and reports errors with the YAML line."""

from __future__ import annotations

import pytest

from edgeyolo.config import ModelConfigError, parse_config_text
from edgeyolo.models.yolo import DetectionModel

BASE = """\
nc: 2
anchors:
  - [10,13, 16,30, 33,23]
  - [30,61, 62,45, 59,119]
  - [116,90, 156,198, 373,326]
backbone:
  [[-1, 1, Conv, [16, 3, 2]],
   [-1, 1, Conv, [16, 3, 2]],
   [-1, 1, Conv, [16, 3, 2]],
   [-1, 1, Conv, [32, 3, 2]],
   [-1, 1, Conv, [64, 3, 2]],
  ]
head:
  [[[2, 3, 4], 1, Detect, [nc, anchors]],
  ]
"""


def build(text: str) -> DetectionModel:
    return DetectionModel(parse_config_text(text, "test.yaml"))


def test_minimal_model_builds() -> None:
    model = build(BASE)
    assert model.strides == [8, 16, 32]


def test_unknown_module_names_line() -> None:
    text = BASE.replace("[-1, 1, Conv, [32, 3, 2]]", "[-1, 1, NotAModule, [32, 3, 2]]")
    with pytest.raises(ModelConfigError, match=r"test\.yaml:10: .*unknown module 'NotAModule'"):
        build(text)


def test_eval_is_never_used_for_module_names() -> None:
    text = BASE.replace("[-1, 1, Conv, [32, 3, 2]]", "[-1, 1, __import__('os').getcwd, [32]]")
    with pytest.raises(ModelConfigError, match="unknown module"):
        build(text)


def test_bad_from_index_names_line() -> None:
    text = BASE.replace("[[2, 3, 4], 1, Detect", "[[2, 3, 9], 1, Detect")
    with pytest.raises(ModelConfigError, match=r"test\.yaml:14: .*'from' index 9"):
        build(text)


def test_channel_mismatch_names_line() -> None:
    # Concat of maps at different resolutions cannot run: the probe forward says which line.
    text = BASE.replace(
        "[-1, 1, Conv, [64, 3, 2]],", "[-1, 1, Conv, [64, 3, 2]],\n   [[-1, 2], 1, Concat, [1]],"
    )
    with pytest.raises(ModelConfigError, match=r"test\.yaml:12: layer 5 \(Concat\) cannot take its input"):
        build(text)


def test_multi_output_backbone_must_come_first() -> None:
    text = BASE.replace("[-1, 1, Conv, [64, 3, 2]],", "[-1, 1, MobileNetV4ConvSmall, []],")
    with pytest.raises(ModelConfigError, match=r"test\.yaml:11: .*must be the first layer"):
        build(text)


def test_malformed_row_and_bad_args() -> None:
    with pytest.raises(ModelConfigError, match=r"test\.yaml:7: .*\[from, number, module, args\]"):
        build(
            BASE.replace(
                "[-1, 1, Conv, [16, 3, 2]],\n   [-1, 1, Conv, [16, 3, 2]],",
                "[-1, Conv],\n   [-1, 1, Conv, [16, 3, 2]],",
                1,
            )
        )
    too_many_args = BASE.replace(
        "[16, 3, 2]],\n   [-1, 1, Conv, [16, 3, 2]],\n   [-1, 1, Conv, [32",
        "[16, 3, 2]],\n   [-1, 1, Conv, [16, 3, 2, 1, 1, 1, 1, 1, 1]],\n   [-1, 1, Conv, [32",
    )
    assert too_many_args != BASE
    with pytest.raises(ModelConfigError, match=r"test\.yaml:9: cannot build"):
        build(too_many_args)


def test_unknown_activation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown activation"):
        build("activation: Swishy\n" + BASE)


def test_not_yaml_and_missing_sections() -> None:
    with pytest.raises(ModelConfigError, match="not valid YAML"):
        parse_config_text("nc: [1, 2", "bad.yaml")
    with pytest.raises(ModelConfigError, match="'head' must be a non-empty list"):
        parse_config_text("nc: 1\nbackbone: [[-1, 1, Conv, [8, 3, 2]]]\n", "nohead.yaml")
