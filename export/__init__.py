"""edgeyolo.export: one module per target (ONNX, OpenVINO, TensorRT, INT8), their verification, and the one
public entry `export(source, request)` that every caller (CLI, bench, Docker) goes through."""

from edgeyolo.export.api import ExportResult, export
from edgeyolo.export.request import FORMATS, ExportRequest

__all__ = ["FORMATS", "ExportRequest", "ExportResult", "export"]
