"""YOLOv3-style boxes (contract head 'yolov3-anchor'): sigmoid + cell, exp x anchor, in input pixels."""

from __future__ import annotations

import numpy as np
import pytest

from edgeyolo.runtime import Contract, decode_raw
from edgeyolo.runtime.contract import ContractError


def _contract(head: str) -> Contract:
    return Contract(
        names=("a", "b"),
        strides=(8, 16),
        anchors=((10, 13, 16, 30), (33, 23, 30, 61)),
        imgsz=(32, 64),
        head=head,
    )


def test_boxes_follow_the_yolov3_formula() -> None:
    rng = np.random.default_rng(0)
    outs = [
        rng.normal(size=(1, 2 * 7, 4, 8)).astype(np.float32),
        rng.normal(size=(1, 14, 2, 4)).astype(np.float32),
    ]
    contract = _contract("yolov3-anchor")
    (cand,) = decode_raw(outs, contract, conf=0.0, multi_label=False)
    expected = []
    for level, out in enumerate(outs):
        t = out[0].reshape(2, 7, *out.shape[2:])
        stride = contract.strides[level]
        for a in range(2):
            aw, ah = contract.anchors[level][2 * a : 2 * a + 2]
            for y in range(out.shape[2]):
                for x in range(out.shape[3]):
                    tx, ty, tw, th = t[a, :4, y, x]
                    cx = (1 / (1 + np.exp(-tx)) + x) * stride
                    cy = (1 / (1 + np.exp(-ty)) + y) * stride
                    w, h = np.exp(tw) * aw, np.exp(th) * ah
                    expected.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    assert len(cand) == len(expected)  # conf 0: every cell
    np.testing.assert_allclose(cand.xyxy, np.array(expected, dtype=np.float32), rtol=1e-5, atol=1e-4)
    (v5,) = decode_raw(outs, _contract("yolov5-anchor"), conf=0.0)
    assert not np.allclose(v5.xyxy, cand.xyxy)  # the two decodings really differ
    np.testing.assert_allclose(v5.score, cand.score)


def test_unknown_head_is_refused_and_old_records_default_to_yolov5() -> None:
    with pytest.raises(ContractError, match="head"):
        _contract("yolox")
    record = _contract("yolov5-anchor").to_json().replace(', "head": "yolov5-anchor"', "")
    assert "head" not in record and Contract.from_json(record).head == "yolov5-anchor"
