"""The graph scopes INT8 leaves in float, found on real exports: the head's final convs (and everything
after them) and squeeze-excitation gates, in ONNX and in OpenVINO."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import onnx
import pytest
import torch

from edgeyolo.config import parse_config_text, resolve_config_path
from edgeyolo.export.graph_scopes import head_nodes, name_unnamed_nodes, openvino_head_nodes, se_nodes
from edgeyolo.export.onnx import OnnxExportOptions, export_onnx
from edgeyolo.models.layers.mobilenet import mb3SE
from edgeyolo.models.yolo import create_model

IMGSZ = (64, 64)


def _export(model, path: Path, outputs: str = "raw") -> onnx.GraphProto:
    export_onnx(model, path, OnnxExportOptions(imgsz=IMGSZ, outputs=outputs, report_unfused=False))
    graph = onnx.load(str(path)).graph
    name_unnamed_nodes(graph)
    return graph


@pytest.fixture(scope="module")
def mnv2():
    torch.manual_seed(0)
    return create_model("yolov5n-mobilenetv2", nc=3).eval()


@pytest.fixture(scope="module")
def mnv2_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scopes")


@pytest.fixture(scope="module")
def mnv2_graphs(mnv2, mnv2_folder: Path) -> dict[str, onnx.GraphProto]:
    return {mode: _export(mnv2, mnv2_folder / f"{mode}.onnx", mode) for mode in ("raw", "decoded", "nms")}


@pytest.fixture(scope="module")
def mnv3_small():
    """yolov4-mobilenetv3-small at a quarter width: every SE gate of the config, a fraction of the cost."""
    text = resolve_config_path("yolov4-mobilenetv3-small").read_text()
    assert "width_multiple: 1.0" in text
    torch.manual_seed(0)
    cfg = parse_config_text(text.replace("width_multiple: 1.0", "width_multiple: 0.25"), "mnv3-small-x0.25")
    return create_model(cfg, nc=3).eval()


def _detect_convs(model, graph: onnx.GraphProto) -> list[str]:
    """The Conv nodes exported from the Detect module's per-level convs (`model.<i>/m.<j>/Conv`)."""
    index = len(model.model) - 1
    assert model.model[index] is model.head
    prefix = f"/model/model.{index}/m."
    return [n.name for n in graph.node if n.op_type == "Conv" and n.name.startswith(prefix)]


def _downstream(graph: onnx.GraphProto, start: list[str]) -> set[str]:
    """Names of the nodes that consume, directly or not, anything produced by `start`."""
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    by_name = {n.name: n for n in graph.node}
    found: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        for out in by_name[name].output:
            for c in consumers[out]:
                if c.name not in found:
                    found.add(c.name)
                    stack.append(c.name)
    return found


def test_name_unnamed_nodes_gives_unique_names() -> None:
    a = onnx.helper.make_node("Relu", ["x"], ["y"])
    b = onnx.helper.make_node("Relu", ["y"], ["z"], name="Relu_0")  # the name the first would get
    c = onnx.helper.make_node("Relu", ["z"], ["w"])
    graph = onnx.helper.make_graph([a, b, c], "g", [], [])
    name_unnamed_nodes(graph)
    names = [n.name for n in graph.node]
    assert all(names) and len(set(names)) == 3 and names[1] == "Relu_0"


def test_raw_head_is_exactly_the_detect_convs(mnv2, mnv2_graphs) -> None:
    graph = mnv2_graphs["raw"]
    convs = _detect_convs(mnv2, graph)
    assert len(convs) == 3  # one per level
    assert head_nodes(graph) == convs
    outputs = {o.name for o in graph.output}
    assert {o for n in graph.node if n.name in convs for o in n.output} == outputs


@pytest.mark.parametrize("mode", ["decoded", "nms"])
def test_decoded_and_nms_heads_are_the_convs_and_everything_after(mnv2, mnv2_graphs, mode: str) -> None:
    graph = mnv2_graphs[mode]
    convs = _detect_convs(mnv2, graph)
    assert len(convs) == 3
    after = _downstream(graph, convs)
    found = set(head_nodes(graph))
    assert set(convs) <= found
    assert after <= found  # nothing between the convs and the outputs is left to be quantized
    assert len(after) > 10
    by_name = {n.name: n for n in graph.node}
    extra = found - set(convs) - after
    assert all(by_name[n].op_type == "Constant" for n in extra), sorted(extra)  # no backbone/neck op
    assert not any(n.op_type == "Conv" for n in graph.node if n.name in found and n.name not in convs)
    assert len(found) < len(graph.node) // 2
    assert head_nodes(graph) == [n.name for n in graph.node if n.name in found]  # in graph order


def test_se_gates_of_mobilenetv3_are_found(mnv3_small, tmp_path: Path) -> None:
    graph = _export(mnv3_small, tmp_path / "mnv3.onnx")
    gates = sum(isinstance(m, mb3SE) for m in mnv3_small.modules())
    assert gates == 9  # the 'S' blocks of the config
    found = se_nodes(graph)
    by_name = {n.name: n for n in graph.node}
    pools = [n for n in found if by_name[n].op_type == "GlobalAveragePool"]
    assert len(pools) == gates
    # each gate: pool → conv → act → conv → gate activation → Mul scaling the block's features
    assert sum(by_name[n].op_type == "Mul" for n in found) == gates
    assert sum(by_name[n].op_type == "Conv" for n in found) == 2 * gates
    assert set(found) == {n.name for n in graph.node if "/sem/" in n.name}
    assert not set(found) & set(head_nodes(graph))


def test_mobilenetv2_has_no_se_gates(mnv2_graphs) -> None:
    for graph in mnv2_graphs.values():
        assert se_nodes(graph) == []


def test_openvino_head_holds_the_three_head_convolutions(mnv2, mnv2_graphs, mnv2_folder: Path) -> None:
    ov = pytest.importorskip("openvino")
    graph = mnv2_graphs["raw"]
    model = ov.convert_model(str(mnv2_folder / "raw.onnx"))
    found = openvino_head_nodes(model)
    kinds = {op.get_friendly_name(): op.get_type_name() for op in model.get_ops()}
    convs = [n for n in found if kinds[n] == "Convolution"]
    assert len(convs) == 3
    onnx_convs = _detect_convs(mnv2, graph)
    # OpenVINO splits each ONNX Conv into `<name>/WithoutBiases` and a bias Add (named after the output)
    assert sorted(convs) == sorted(f"{n}/WithoutBiases" for n in onnx_convs)
    assert set(found) == set(convs) | {o.name for o in graph.output}
    backbone_convs = [n for n, k in kinds.items() if k == "Convolution" and n not in convs]
    assert len(backbone_convs) > 20 and not set(backbone_convs) & set(found)
    assert not any(kinds[n] in ("Constant", "Parameter") for n in found)
