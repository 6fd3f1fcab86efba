"""Compare an artifact's outputs with its reference's, relative to each output's scale."""

from __future__ import annotations

import numpy as np

from edgeyolo.export.verify.result import VerifyResult


def compare_outputs(
    got: list[np.ndarray],
    ref: list[np.ndarray],
    tol: float | None,
    name: str = "artifact",
    ref_name: str = "reference",
) -> VerifyResult:
    """Max |got - ref| relative to max(1, max|ref|) per output, against `tol`. `tol` None (INT8, judged by
    mAP instead) only requires finite outputs of the same shapes."""
    if len(got) != len(ref) or any(g.shape != r.shape for g, r in zip(got, ref, strict=False)):
        shapes = [g.shape for g in got], [r.shape for r in ref]
        return VerifyResult(False, f"output shapes differ ({name}, {ref_name}): {shapes}")
    abs_err, rel_err = 0.0, 0.0
    for g, r in zip(got, ref, strict=True):
        g, r = g.astype(np.float32), r.astype(np.float32)
        if not np.isfinite(g).all():
            return VerifyResult(False, f"{name} output holds non-finite values", float("inf"), float("inf"))
        err = float(np.abs(g - r).max()) if r.size else 0.0
        scale = max(1.0, float(np.abs(r).max()) if r.size else 1.0)
        abs_err, rel_err = max(abs_err, err), max(rel_err, err / scale)
    if tol is None:
        return VerifyResult(True, f"{rel_err:.3g} of output scale (int8: see mAP)", abs_err, rel_err)
    detail = f"max abs error {abs_err:.3g}, {rel_err:.3g} of output scale (tolerance {tol:g})"
    return VerifyResult(rel_err <= tol, detail, abs_err, rel_err)
