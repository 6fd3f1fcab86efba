"""Vectorised decoding of YOLOv5 anchor-head outputs into scored candidate boxes (before NMS).

Thresholding happens first: for ``raw`` outputs in logit space on the objectness channel, so the
sigmoid and the box arithmetic are computed only for the cells that can still reach ``conf``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from edgeyolo.runtime.contract import Contract
from edgeyolo.runtime.decode_yolov3 import YOLOV3_HEAD, yolov3_boxes

__all__ = ["Candidates", "decode_decoded", "decode_raw"]

# The logit-space prefilter is made slightly looser than logit(conf) so float32 rounding of the
# sigmoid can never make it drop a candidate that the exact filter (score >= conf) would keep.
_PREFILTER_SLACK = 1e-5
# Columns of sigmoid(tx, ty, tw, th) that feed x1, y1, x2, y2 (see `_boxes`).
_XY = np.array([0, 1, 0, 1])
_WH = np.array([2, 3, 2, 3])


@dataclass(frozen=True, slots=True)
class Candidates:
    """Scored boxes of one image before NMS, in model-input pixels."""

    xyxy: np.ndarray  # float32 [M, 4]
    score: np.ndarray  # float32 [M]
    class_id: np.ndarray  # int64 [M]
    dropped_nonfinite: int = 0  # rows dropped because a value they needed was NaN or infinite

    def __len__(self) -> int:
        return int(self.score.shape[0])

    @classmethod
    def empty(cls, dropped_nonfinite: int = 0) -> Candidates:
        """No candidates."""
        return cls(
            np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, np.int64), dropped_nonfinite
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """float32 logistic function (``exp`` may overflow to inf for very negative x: result 0)."""
    out = np.negative(x, dtype=np.float32)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _check_conf(conf: float) -> float:
    conf = float(conf)
    if math.isnan(conf):
        raise ValueError("conf must be a number, got NaN")
    return conf


def _below(dtype: np.dtype, value: float) -> np.generic:
    """``value`` as a scalar of ``dtype``, rounded down, so comparisons in that dtype stay conservative."""
    scalar = np.asarray(value, dtype=dtype)[()]
    if scalar > value:
        scalar = np.nextafter(scalar, dtype.type(-np.inf))
    return scalar


def _logit_floor(conf: float) -> float:
    """A logit threshold t such that sigmoid(x) * p >= conf (p <= 1) implies x >= t."""
    if conf <= 0.0:
        return -math.inf
    c = min(conf, 1.0) * (1.0 - _PREFILTER_SLACK)
    return math.log(c) - math.log1p(-c)


def _split(parts: dict[str, np.ndarray], image: np.ndarray, batch: int) -> list[dict[str, np.ndarray]]:
    """Split per-candidate arrays by batch image, keeping their order within each image."""
    if batch == 1:
        return [parts]
    order = np.argsort(image, kind="stable")
    bounds = np.cumsum(np.bincount(image, minlength=batch))[:-1]
    return [
        dict(zip(parts, chunks, strict=True))
        for chunks in zip(*(np.split(v[order], bounds) for v in parts.values()), strict=True)
    ]


def _score(
    obj: np.ndarray, cls: np.ndarray, conf: float, multi_label: bool, cls_are_logits: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, class ids and scores (obj * cls >= conf) from obj [M] and class values [M, nc] (float32)."""
    if multi_label:
        floor = _logit_floor(conf) if cls_are_logits else conf
        rows, cid = np.nonzero(~(cls < _below(cls.dtype, floor)))
        p_cls = _sigmoid(cls[rows, cid]) if cls_are_logits else cls[rows, cid]
        score = obj[rows] * p_cls
    else:
        cid = cls.argmax(axis=1)  # the sigmoid is monotonic: the best logit is the best probability
        p_cls = cls[np.arange(cid.size), cid]  # much faster than cls.max(axis=1)
        score = obj * (_sigmoid(p_cls) if cls_are_logits else p_cls)
        rows = None
    keep = np.flatnonzero(score >= conf)
    rows = keep if rows is None else rows[keep]
    return rows, cid[keep].astype(np.int64, copy=False), score[keep]


def decode_raw(
    outputs: list[np.ndarray], contract: Contract, conf: float = 0.25, multi_label: bool = False
) -> list[Candidates]:
    """Decode ``raw`` outputs (one [B, na*(5+nc), H, W] logit tensor per level) into candidates per image.

    Box: x = (sigmoid(tx) * 2 - 0.5 + gx) * stride, w = (sigmoid(tw) * 2) ** 2 * anchor_w (y, h alike);
    score = sigmoid(obj) * sigmoid(cls), kept when >= ``conf``: the best class per cell, or with
    ``multi_label`` every such class. Cells with a non-finite value that pass the objectness threshold
    (or have a NaN objectness) are dropped and counted in ``dropped_nonfinite``.
    """
    conf = _check_conf(conf)
    na, nc = contract.na, contract.nc
    no = 5 + nc
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(contract.strides):
        got = len(outputs) if isinstance(outputs, (list, tuple)) else type(outputs).__name__
        raise ValueError(f"expected a list of {len(contract.strides)} raw outputs (one per level), got {got}")
    for level, out in enumerate(outputs):
        if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
            got = out.dtype if isinstance(out, np.ndarray) else type(out).__name__
            raise TypeError(f"raw output {level} must be a floating-point numpy array, got {got}")
        if out.ndim != 4 or out.shape[1] != na * no:
            raise ValueError(
                f"raw output {level} must have shape [B, {na * no}, H, W] (na={na}, 5+nc={no}), "
                f"got {out.shape}"
            )
        if out.shape[0] != outputs[0].shape[0]:
            raise ValueError(f"raw outputs disagree on batch size: {outputs[0].shape[0]} vs {out.shape[0]}")
    batch = outputs[0].shape[0]

    # Pass 1, per level: threshold objectness logits, gather the surviving rows [M, 5+nc] (no transpose,
    # no copy of the tensors: [B, na*(5+nc), H, W] is viewed as [B*na, 5+nc, H*W]). A survivor is
    # identified by its image and its cell (anchor, y, x of a level): the row of `_grid`.
    t_logit = _logit_floor(conf)
    shapes = tuple(o.shape[2:] for o in outputs)
    rows_l, cell_l, img_l = [], [], []
    thresholds: dict[np.dtype, np.generic] = {}
    offset = 0
    for out, (h, w) in zip(outputs, shapes, strict=True):
        view = out.reshape(batch * na, no, h * w)  # a view for contiguous outputs
        t = thresholds.get(out.dtype)
        if t is None:
            t = thresholds[out.dtype] = _below(out.dtype, t_logit)
        # ~(x < t) rather than x >= t: a NaN objectness passes here, so it is counted, then dropped.
        hit = np.flatnonzero(~(view[:, 4] < t))
        if hit.size:
            image_anchor, cell = np.divmod(hit, h * w)
            rows_l.append(view[image_anchor, :, cell])
            if batch == 1:
                cell_l.append(hit + offset)
            else:
                image, anchor = np.divmod(image_anchor, na)
                cell_l.append(anchor * (h * w) + cell + offset)
                img_l.append(image)
        offset += na * h * w
    if not rows_l:
        return [Candidates.empty() for _ in range(batch)]
    rows = np.concatenate(rows_l) if len(rows_l) > 1 else rows_l[0]
    cells = np.concatenate(cell_l) if len(cell_l) > 1 else cell_l[0]
    images = np.concatenate(img_l) if batch > 1 else np.zeros(0, dtype=np.int64)

    if math.isfinite(rows.sum()):  # a finite sum has no NaN/inf terms (an overflow takes the slow path)
        dropped = [0] * batch
    else:
        finite = np.isfinite(rows).all(axis=1)
        # counted: the dropped cells whose objectness alone does not rule them out (NaN included)
        with np.errstate(over="ignore", invalid="ignore"):
            counted = ~finite & ~(_sigmoid(rows[:, 4]) < conf)
        if batch == 1:
            dropped = [int(np.count_nonzero(counted))]
        else:
            dropped = np.bincount(images[counted], minlength=batch).tolist()
            images = images[finite]
        rows, cells = rows[finite], cells[finite]
    if rows.dtype != np.float32:
        rows = rows.astype(np.float32)

    # Pass 2, survivors only: scores, then boxes of the rows that reach conf.
    with np.errstate(over="ignore"):
        r, cid, score = _score(_sigmoid(rows[:, 4]), rows[:, 5:], conf, multi_label, cls_are_logits=True)
    geometry = (tuple(contract.strides), tuple(tuple(a) for a in contract.anchors), shapes)
    if contract.head == YOLOV3_HEAD:
        xyxy = yolov3_boxes(rows[r, :4], cells[r], geometry)
    else:
        with np.errstate(over="ignore"):
            s = _sigmoid(rows[r, :4])
        xyxy = _boxes(s, cells[r], _grid(*geometry))
    if batch == 1:
        return [Candidates(xyxy, score, cid, dropped[0])]
    parts = {"xyxy": xyxy, "score": score, "class_id": cid}
    return [
        Candidates(p["xyxy"], p["score"], p["class_id"], d)
        for p, d in zip(_split(parts, images[r], batch), dropped, strict=True)
    ]


def _boxes(s: np.ndarray, cells: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """xyxy [K, 4] from the sigmoids of (tx, ty, tw, th) [K, 4] and the `_grid` rows of their cells.

    x1 = 2 * stride * sx + (gx - 0.5) * stride - 2 * anchor_w * sw ** 2, i.e. the YOLOv5 centre
    minus half of w = (2 * sw) ** 2 * anchor_w (y, x2, y2 alike), as whole-[K, 4] operations.
    """
    scale, shift, quad = grid.take(cells, axis=1)  # each [K, 4], contiguous
    wh = s.take(_WH, axis=1)
    wh *= wh
    wh *= quad
    out = s.take(_XY, axis=1)
    out *= scale
    out += shift
    out += wh
    return out


@functools.lru_cache(maxsize=16)
def _grid(
    strides: tuple[int, ...], anchors: tuple[tuple[float, ...], ...], shapes: tuple[tuple[int, int], ...]
) -> np.ndarray:
    """Per cell of one image (level, anchor, y, x order), the coefficients of `_boxes` for (x1, y1, x2, y2).

    float32 [3, sum(na * H * W), 4]: scale (2 * stride), shift ((g - 0.5) * stride) and quad
    (-/+ 2 * anchor); cached per model geometry and read-only.
    """
    parts = []
    for stride, level_anchors, (h, w) in zip(strides, anchors, shapes, strict=True):
        na = len(level_anchors) // 2
        gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
        table = np.empty((3, na, h, w, 4), dtype=np.float32)
        table[0] = 2.0 * stride
        table[1, ..., 0::2] = ((gx - 0.5) * stride)[..., None]
        table[1, ..., 1::2] = ((gy - 0.5) * stride)[..., None]
        anchor = np.asarray(level_anchors, dtype=np.float32).reshape(na, 1, 1, 2) * 2.0
        table[2, ..., :2] = -anchor
        table[2, ..., 2:] = anchor
        parts.append(table.reshape(3, -1, 4))
    grid = np.concatenate(parts, axis=1)
    grid.flags.writeable = False
    return grid


def decode_decoded(output: np.ndarray, conf: float = 0.25, multi_label: bool = False) -> list[Candidates]:
    """Filter a ``decoded`` output [B, N, 5+nc] (xywh in input pixels, objectness and class probabilities).

    Same scoring and non-finite handling as `decode_raw`; probabilities are expected in [0, 1].
    """
    conf = _check_conf(conf)
    if not isinstance(output, np.ndarray) or output.dtype.kind != "f":
        got = output.dtype if isinstance(output, np.ndarray) else type(output).__name__
        raise TypeError(f"decoded output must be a floating-point numpy array, got {got}")
    if output.ndim != 3 or output.shape[2] < 6:
        raise ValueError(f"decoded output must have shape [B, N, 5+nc] with nc >= 1, got {output.shape}")
    batch = output.shape[0]
    obj = output[:, :, 4]
    img, n = np.nonzero(~(obj < _below(output.dtype, conf)))
    rows = output[img, n]
    if np.isfinite(rows).all():
        dropped = [0] * batch
    else:
        finite = np.isfinite(rows).all(axis=1)
        with np.errstate(invalid="ignore"):
            counted = ~finite & ~(rows[:, 4] < conf)
        dropped = np.bincount(img[counted], minlength=batch).tolist()
        rows, img = rows[finite], img[finite]
    if rows.dtype != np.float32:
        rows = rows.astype(np.float32)
    r, cid, score = _score(rows[:, 4], rows[:, 5:], conf, multi_label, cls_are_logits=False)
    xywh = rows[r, :4]
    xyxy = np.empty(xywh.shape, dtype=np.float32)
    for i in (0, 1):
        half = xywh[:, i + 2] * 0.5
        np.subtract(xywh[:, i], half, out=xyxy[:, i])
        np.add(xywh[:, i], half, out=xyxy[:, i + 2])
    parts = {"xyxy": xyxy, "score": score, "class_id": cid}
    return [
        Candidates(p["xyxy"], p["score"], p["class_id"], d)
        for p, d in zip(_split(parts, img[r], batch), dropped, strict=True)
    ]
