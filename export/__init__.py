"""edgeyolo.export: one module per target (ONNX, OpenVINO, TensorRT, INT8) and their verification."""
