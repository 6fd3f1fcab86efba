"""Verification of every artifact against its reference: one result type, one detection matcher, tolerances
named by what they compare. torch is imported only when a PyTorch reference is run."""

from edgeyolo.export.verify.compare import compare_outputs
from edgeyolo.export.verify.matching import match_fraction, worst_difference
from edgeyolo.export.verify.onnx import fixed_input, reference_nms, run_onnx, torch_reference, verify_onnx
from edgeyolo.export.verify.result import VerifyResult
from edgeyolo.export.verify.targets import check_int8, confidence_drift, verify_openvino
from edgeyolo.export.verify.tolerance import (
    ENGINE_NMS_SHARE,
    ENGINE_VS_ONNX,
    EXPORT_VS_TORCH,
    NMS_DETECTIONS_VS_TORCH,
    SAME_OBJECT_IOU,
)

__all__ = [
    "ENGINE_NMS_SHARE",
    "ENGINE_VS_ONNX",
    "EXPORT_VS_TORCH",
    "NMS_DETECTIONS_VS_TORCH",
    "SAME_OBJECT_IOU",
    "VerifyResult",
    "check_int8",
    "compare_outputs",
    "confidence_drift",
    "fixed_input",
    "match_fraction",
    "reference_nms",
    "run_onnx",
    "torch_reference",
    "verify_onnx",
    "verify_openvino",
    "worst_difference",
]
