"""Tolerances, named by what they compare. Errors are relative to the output's scale max(1, max|ref|)."""

# An exported ONNX / OpenVINO IR against the unfused PyTorch model, by the artifact's precision.
EXPORT_VS_TORCH = {"fp32": 1e-4, "fp16": 2e-2}
# A TensorRT engine against the ONNX it was built from (TensorRT picks its own kernels and fusions).
ENGINE_VS_ONNX = {"fp32": 1e-3, "fp16": 1e-2}
# An `nms` artifact whose detections must be torch's boxes and scores followed by the runtime's NMS.
NMS_DETECTIONS_VS_TORCH = 1e-3
# Share of the runtime NMS detections a TensorRT EfficientNMS engine must reproduce.
ENGINE_NMS_SHARE = {"fp32": 0.98, "fp16": 0.9}
# IoU at which an INT8 detection counts as the float model's (confidence drift).
SAME_OBJECT_IOU = 0.5
