"""Find the parts of an exported graph that INT8 must leave in float: the detection head's final convs with
everything after them, and (optionally) squeeze-excitation gates. Works on ONNX protos and OpenVINO models.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # OpenVINO users need not have onnx installed
    import onnx

_SE_POOLS = ("GlobalAveragePool", "ReduceMean")


def name_unnamed_nodes(graph: onnx.GraphProto) -> None:
    """Give every nameless node a unique name (quantizers select nodes by name)."""
    taken = {n.name for n in graph.node if n.name}
    for i, node in enumerate(graph.node):
        if not node.name:
            name = f"{node.op_type}_{i}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)


def head_nodes(graph: onnx.GraphProto) -> list[str]:
    """Names of the head's final Conv nodes and of every node between them and the graph outputs.

    Walks backwards from each output; a Conv is included and ends the walk along that path.
    """
    producer = {out: node for node in graph.node for out in node.output}
    found: dict[str, onnx.NodeProto] = {}
    stack = [o.name for o in graph.output]
    seen: set[str] = set()
    while stack:
        tensor = stack.pop()
        if tensor in seen or tensor not in producer:
            continue
        seen.add(tensor)
        node = producer[tensor]
        found[node.name] = node
        if node.op_type != "Conv":
            stack.extend(node.input)
    return [n.name for n in graph.node if n.name in found]


def se_nodes(graph: onnx.GraphProto) -> list[str]:
    """Names of the nodes of squeeze-excitation gates: from a global pooling up to (and including) the
    Mul that scales the block's features with the gate."""
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    found: set[str] = set()
    for pool in (n for n in graph.node if n.op_type in _SE_POOLS):
        path, stack, scaled = set(), [pool], False
        while stack and len(path) < 16:
            node = stack.pop()
            if node.name in path:
                continue
            path.add(node.name)
            if node.op_type == "Mul" and len(path) > 2:
                scaled = True  # the gate scales the block's features: the SE block ends here
                continue
            for out in node.output:
                stack.extend(consumers[out])
        if scaled and not stack and any(n.op_type == "Conv" for n in graph.node if n.name in path):
            found |= path
    return [n.name for n in graph.node if n.name in found]


def openvino_head_nodes(model) -> list[str]:
    """Friendly names of an OpenVINO model's head convolutions and everything after them."""
    found: dict[str, None] = {}
    stack = [r.input_value(0).get_node() for r in model.get_results()]
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        name = node.get_friendly_name()
        if name in seen or node.get_type_name() in ("Constant", "Parameter"):
            continue
        seen.add(name)
        found[name] = None
        if node.get_type_name() != "Convolution":
            stack.extend(v.get_node() for v in node.input_values())
    return list(found)
