"""decode_raw / decode_decoded against a straightforward dense reference."""

from __future__ import annotations

import numpy as np
import pytest

from edgeyolo.runtime import Candidates, Contract, decode_decoded, decode_raw

ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))


def make_contract(nc: int, strides=(8, 16, 32), anchors=ANCHORS) -> Contract:
    return Contract(
        names=tuple(f"c{i}" for i in range(nc)),
        strides=tuple(strides),
        anchors=tuple(tuple(float(v) for v in a) for a in anchors),
        imgsz=(64, 96),
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x.astype(np.float32)))).astype(np.float32)


def dense_decoded(outputs: list[np.ndarray], contract: Contract) -> np.ndarray:
    """The YOLOv5 Detect head in numpy: sigmoid over everything -> [B, N, 5+nc] (xywh pixels, probs)."""
    na, no = contract.na, 5 + contract.nc
    preds = []
    for out, stride, anchors in zip(outputs, contract.strides, contract.anchors, strict=True):
        b, _, h, w = out.shape
        p = sigmoid(out.reshape(b, na, no, h, w).transpose(0, 1, 3, 4, 2))  # [B, na, H, W, no]
        gy, gx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        grid = np.stack([gx, gy], axis=-1).astype(np.float32)  # [H, W, 2]
        anchor = np.asarray(anchors, dtype=np.float32).reshape(1, na, 1, 1, 2)
        xy = (p[..., :2] * 2 - 0.5 + grid) * stride
        wh = (p[..., 2:4] * 2) ** 2 * anchor
        preds.append(np.concatenate([xy, wh, p[..., 4:]], axis=-1).reshape(b, -1, no))
    return np.concatenate(preds, axis=1)


def reference(outputs, contract, conf, multi_label=False) -> list[tuple[np.ndarray, ...]]:
    """Dense decode, then filter: (xyxy, score, class_id, dropped) per image, in cell order."""
    pred = dense_decoded(outputs, contract)
    raw = np.concatenate(
        [
            o.reshape(o.shape[0], contract.na, 5 + contract.nc, -1)
            .transpose(0, 1, 3, 2)
            .reshape(o.shape[0], -1, 5 + contract.nc)
            for o in outputs
        ],
        axis=1,
    )
    result = []
    for i in range(pred.shape[0]):
        p, r = pred[i], raw[i]
        obj_logit = r[:, 4]
        bad = ~np.isfinite(r).all(axis=1)
        # counted: non-finite cells that the objectness test cannot rule out
        could_pass = ~(sigmoid(obj_logit) < conf) | np.isnan(obj_logit)
        dropped = int((bad & could_pass).sum())
        p = p[~bad]
        scores = p[:, 5:] * p[:, 4:5]
        if multi_label:
            rows, cls = np.nonzero(scores >= conf)
        else:
            cls = scores.argmax(axis=1)
            rows = np.flatnonzero(scores[np.arange(len(p)), cls] >= conf)
            cls = cls[rows]
        xywh = p[rows, :4]
        xyxy = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
        result.append((xyxy, scores[rows, cls], cls, dropped))
    return result


def random_outputs(rng, contract, batch, shapes, obj_mean=-2.0) -> list[np.ndarray]:
    na, no = contract.na, 5 + contract.nc
    outs = []
    for h, w in shapes:
        v = rng.normal(0.0, 2.0, (batch, na, no, h, w)).astype(np.float32)
        v[:, :, 4] += obj_mean
        outs.append(v.reshape(batch, na * no, h, w))
    return outs


def assert_same(got: Candidates, ref: tuple[np.ndarray, ...]) -> None:
    xyxy, score, cls, dropped = ref
    assert isinstance(got, Candidates)
    assert got.xyxy.dtype == np.float32 and got.score.dtype == np.float32 and got.class_id.dtype == np.int64
    assert got.xyxy.shape == (len(got), 4) and got.score.shape == got.class_id.shape == (len(got),)
    np.testing.assert_array_equal(got.class_id, cls)
    np.testing.assert_allclose(got.score, score, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.xyxy, xyxy, rtol=1e-5, atol=1e-3)
    assert got.dropped_nonfinite == dropped


@pytest.mark.parametrize("nc", [1, 4, 80])
@pytest.mark.parametrize("conf", [0.001, 0.25, 0.9])
def test_decode_raw_equals_dense_reference(nc, conf):
    rng = np.random.default_rng(nc * 1000 + int(conf * 1000))
    contract = make_contract(nc)
    outputs = random_outputs(rng, contract, batch=2, shapes=[(8, 12), (4, 6), (2, 3)])
    got = decode_raw(outputs, contract, conf=conf)
    ref = reference(outputs, contract, conf)
    assert len(got) == 2
    for g, r in zip(got, ref, strict=True):
        assert_same(g, r)
    assert sum(len(g) for g in got) > 0  # the test exercised something


@pytest.mark.parametrize("nc", [1, 4, 80])
def test_decode_raw_multi_label_equals_reference(nc):
    rng = np.random.default_rng(nc)
    contract = make_contract(nc)
    outputs = random_outputs(rng, contract, batch=2, shapes=[(6, 10), (3, 5), (2, 3)], obj_mean=1.0)
    for conf in (0.05, 0.25):
        got = decode_raw(outputs, contract, conf=conf, multi_label=True)
        for g, r in zip(got, reference(outputs, contract, conf, multi_label=True), strict=True):
            assert_same(g, r)
        single = decode_raw(outputs, contract, conf=conf)
        if nc > 1:  # several classes per cell did pass
            assert sum(map(len, got)) > sum(map(len, single))
        else:
            assert sum(map(len, got)) == sum(map(len, single)) > 0


def test_single_level_and_non_square_grid():
    rng = np.random.default_rng(5)
    contract = make_contract(3, strides=(16,), anchors=((20, 30, 40, 50),))
    outputs = random_outputs(rng, contract, batch=1, shapes=[(3, 17)])
    for g, r in zip(decode_raw(outputs, contract, 0.1), reference(outputs, contract, 0.1), strict=True):
        assert_same(g, r)


def test_box_formula_on_a_known_cell():
    contract = make_contract(2, strides=(8,), anchors=((10, 20, 30, 40, 50, 60),))
    out = np.full((1, 3, 7, 4, 5), -20.0, dtype=np.float32)  # [B, na, 5+nc, H, W]
    # anchor 1, row 2, column 3: tx = ty = 0 (sigmoid 0.5), tw = th = 0, obj and class 1 certain
    out[0, 1, :, 2, 3] = [0.0, 0.0, 0.0, 0.0, 20.0, -20.0, 20.0]
    cand = decode_raw([out.reshape(1, 21, 4, 5)], contract, conf=0.5)[0]
    cx, cy = (0.5 * 2 - 0.5 + 3) * 8, (0.5 * 2 - 0.5 + 2) * 8
    w, h = (0.5 * 2) ** 2 * 30, (0.5 * 2) ** 2 * 40
    np.testing.assert_allclose(cand.xyxy, [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]], rtol=1e-6)
    assert cand.class_id.tolist() == [1]
    np.testing.assert_allclose(cand.score, [1.0])


def test_non_finite_values_are_dropped_and_counted():
    rng = np.random.default_rng(11)
    contract = make_contract(4)
    outputs = random_outputs(rng, contract, batch=2, shapes=[(8, 8), (4, 4), (2, 2)], obj_mean=3.0)
    no = 9
    v0 = outputs[0].reshape(2, 3, no, 8, 8)
    v0[0, 0, 4, 1, 1] = np.nan  # NaN objectness: always counted
    v0[0, 1, 2, 3, 3] = np.inf  # box value of a confident cell
    v0[1, 2, 7, 5, 6] = -np.inf  # a class logit in image 1
    v0[1, 0, 4, 0, 0] = np.inf  # +inf objectness
    outputs[2].reshape(2, 3, no, 2, 2)[0, 2, 0, 1, 0] = np.nan
    got = decode_raw(outputs, contract, conf=0.01)
    ref = reference(outputs, contract, conf=0.01)
    for g, r in zip(got, ref, strict=True):
        assert_same(g, r)
        assert np.isfinite(g.xyxy).all() and np.isfinite(g.score).all()
    assert [g.dropped_nonfinite for g in got] == [3, 2]


def test_nan_in_a_cell_below_threshold_is_not_counted():
    contract = make_contract(1, strides=(8,), anchors=((10, 10, 20, 20, 30, 30),))
    out = np.full((1, 3, 6, 2, 2), -30.0, dtype=np.float32)
    out[0, 0, 0, 0, 0] = np.nan  # a box value of a cell whose objectness rules it out
    cand = decode_raw([out.reshape(1, 18, 2, 2)], contract, conf=0.25)[0]
    assert len(cand) == 0 and cand.dropped_nonfinite == 0


@pytest.mark.parametrize("conf", [0.0, -1.0])
def test_conf_at_or_below_zero_keeps_every_cell(conf):
    rng = np.random.default_rng(2)
    contract = make_contract(2)
    outputs = random_outputs(rng, contract, batch=1, shapes=[(2, 2), (1, 1), (1, 1)])
    outputs[0][0, 4, 0, 0] = -200.0  # sigmoid underflows to exactly 0: still >= 0
    cand = decode_raw(outputs, contract, conf=conf)[0]
    assert len(cand) == 3 * (4 + 1 + 1)
    assert_same(cand, reference(outputs, contract, conf)[0])


def test_conf_at_or_above_one():
    contract = make_contract(2, strides=(8,), anchors=((10, 10, 20, 20, 30, 30),))
    out = np.full((1, 3, 7, 2, 2), -5.0, dtype=np.float32)
    out[0, 0, [4, 6], 1, 1] = 40.0  # float32 sigmoid(40) == 1.0 exactly: score 1.0
    out[0, 1, [4, 5], 0, 1] = 5.0  # score ~0.986
    outputs = [out.reshape(1, 21, 2, 2)]
    cand = decode_raw(outputs, contract, conf=1.0)[0]
    assert cand.class_id.tolist() == [1] and cand.score.tolist() == [1.0]
    assert_same(cand, reference(outputs, contract, 1.0)[0])
    assert len(decode_raw(outputs, contract, conf=1.5)[0]) == 0


def test_decode_raw_agrees_with_decode_decoded():
    rng = np.random.default_rng(3)
    contract = make_contract(80)
    outputs = random_outputs(rng, contract, batch=2, shapes=[(8, 10), (4, 5), (2, 3)])
    decoded = dense_decoded(outputs, contract)
    for conf in (0.001, 0.25):
        for multi_label in (False, True):
            raw = decode_raw(outputs, contract, conf=conf, multi_label=multi_label)
            dec = decode_decoded(decoded, conf=conf, multi_label=multi_label)
            for a, b in zip(raw, dec, strict=True):
                np.testing.assert_array_equal(a.class_id, b.class_id)
                np.testing.assert_allclose(a.score, b.score, rtol=1e-5)
                np.testing.assert_allclose(a.xyxy, b.xyxy, rtol=1e-5, atol=1e-3)
                assert len(a) > 0


def test_decode_decoded_filters_and_counts():
    out = np.zeros((1, 4, 7), dtype=np.float32)  # nc = 2
    out[0, 0] = [10, 20, 4, 6, 0.9, 0.1, 0.8]  # score 0.72, class 1
    out[0, 1] = [10, 20, 4, 6, 0.3, 0.5, 0.2]  # score 0.15: dropped at 0.25
    out[0, 2] = [np.nan, 20, 4, 6, 0.9, 0.9, 0.1]  # non-finite: counted
    out[0, 3] = [np.nan, 20, 4, 6, 0.1, 0.9, 0.1]  # non-finite but objectness too low: not counted
    cand = decode_decoded(out, conf=0.25)[0]
    np.testing.assert_allclose(cand.xyxy, [[8, 17, 12, 23]])
    np.testing.assert_allclose(cand.score, [0.72], rtol=1e-6)
    assert cand.class_id.tolist() == [1] and cand.dropped_nonfinite == 1


def test_float16_and_non_contiguous_outputs():
    rng = np.random.default_rng(4)
    contract = make_contract(4)
    outputs = random_outputs(rng, contract, batch=1, shapes=[(4, 4), (2, 2), (1, 1)], obj_mean=1.0)
    half = [o.astype(np.float16) for o in outputs]
    ref = reference([h.astype(np.float32) for h in half], contract, 0.25)[0]
    assert_same(decode_raw(half, contract, 0.25)[0], ref)
    strided = [np.asfortranarray(o) for o in outputs]
    assert_same(decode_raw(strided, contract, 0.25)[0], reference(outputs, contract, 0.25)[0])


def test_inputs_are_not_modified_and_nothing_survives():
    rng = np.random.default_rng(6)
    contract = make_contract(4)
    outputs = random_outputs(rng, contract, batch=2, shapes=[(4, 4), (2, 2), (1, 1)], obj_mean=-30.0)
    before = [o.copy() for o in outputs]
    got = decode_raw(outputs, contract, 0.25)
    assert [len(g) for g in got] == [0, 0] and got[0].xyxy.shape == (0, 4)
    for a, b in zip(before, outputs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_outputs_raise_clear_errors():
    contract = make_contract(4)
    good = [np.zeros((1, 27, 4, 4), np.float32), np.zeros((1, 27, 2, 2), np.float32), np.zeros((1, 27, 1, 1))]
    with pytest.raises(ValueError, match="expected a list of 3 raw outputs"):
        decode_raw(good[:2], contract)
    with pytest.raises(ValueError, match=r"must have shape \[B, 27, H, W\]"):
        decode_raw([np.zeros((1, 26, 4, 4), np.float32), *good[1:]], contract)
    with pytest.raises(ValueError, match="batch size"):
        decode_raw([np.zeros((2, 27, 4, 4), np.float32), *good[1:]], contract)
    with pytest.raises(TypeError, match="floating-point"):
        decode_raw([np.zeros((1, 27, 4, 4), np.int8), *good[1:]], contract)
    with pytest.raises(ValueError, match="NaN"):
        decode_raw(good, contract, conf=float("nan"))
    with pytest.raises(ValueError, match=r"\[B, N, 5\+nc\]"):
        decode_decoded(np.zeros((1, 10, 5), np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        decode_decoded([[1.0]])


def test_count_follows_the_exact_objectness_threshold():
    # An objectness logit just below logit(conf) passes the (deliberately loose) logit prefilter but
    # not sigmoid(obj) >= conf: its non-finite cell must not be counted.
    conf = 0.25
    x = np.float32(np.log(conf / (1 - conf)))
    while sigmoid(np.array([x]))[0] >= conf:
        x = np.nextafter(x, np.float32(-np.inf))
    contract = make_contract(2, strides=(8,), anchors=((10, 10, 20, 20, 30, 30),))
    out = np.full((1, 3, 7, 1, 1), -30.0, dtype=np.float32)
    out[0, 0, 4, 0, 0] = x
    out[0, 0, 6, 0, 0] = np.nan
    out[0, 1, 4, 0, 0] = 0.0  # sigmoid 0.5: passes, and is non-finite too
    out[0, 1, 0, 0, 0] = np.inf
    outputs = [out.reshape(1, 21, 1, 1)]
    cand = decode_raw(outputs, contract, conf=conf)[0]
    assert cand.dropped_nonfinite == 1 == reference(outputs, contract, conf)[0][3]
