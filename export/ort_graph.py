"""What onnxruntime actually runs for an ONNX file: its optimized graph (all optimizations, CPU), counted.

The INT8 layout check: a quantized conv that onnxruntime could not fuse stays a float `Conv` (or
`FusedConv`) whose weight input is a `DequantizeLinear`, which dequantizes the weights on every call and runs
the conv in float, slower than FP32. The onnxruntime layout must leave none of them.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import onnx

FLOAT_CONVS = ("Conv", "FusedConv", "NhwcFusedConv")


@dataclass
class OrtGraph:
    ops: Counter = field(default_factory=Counter)  # op type → nodes in the optimized graph
    float_convs_on_dequantized_weights: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"onnxruntime runs {self.ops['QLinearConv']} QLinearConv, "
            f"{sum(self.ops[t] for t in FLOAT_CONVS)} float convs "
            f"({len(self.float_convs_on_dequantized_weights)} on dequantized weights), "
            f"{self.ops['DequantizeLinear']} DequantizeLinear"
        )


def optimized_graph(path: str | Path) -> OrtGraph:
    """Count the node types of the graph onnxruntime's CPU provider runs for `path` (ORT_ENABLE_ALL)."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="edgeyolo-ortgraph-") as tmp:
        dumped = Path(tmp) / "optimized.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(dumped)
        options.log_severity_level = 3  # the dump warns that NCHWc nodes are specific to this CPU
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        graph = onnx.load(str(dumped)).graph
    producer = {o: n for n in graph.node for o in n.output}
    result = OrtGraph(Counter(n.op_type for n in graph.node))
    for node in graph.node:
        if node.op_type in FLOAT_CONVS and len(node.input) > 1:
            weight = producer.get(node.input[1])
            if weight is not None and weight.op_type == "DequantizeLinear":
                result.float_convs_on_dequantized_weights.append(node.name)
    return result
