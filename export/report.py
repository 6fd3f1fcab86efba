"""Graph statistics for the export report: nodes, parameters, op histogram, size."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import onnx


@dataclass
class GraphStats:
    nodes: int
    params: int
    ops: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, proto: onnx.ModelProto) -> GraphStats:
        params = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
        params += sum(
            int(np.prod(a.t.dims))
            for n in proto.graph.node
            if n.op_type == "Constant"
            for a in n.attribute
            if a.t.dims
        )
        ops = Counter(n.op_type for n in proto.graph.node)
        return cls(nodes=len(proto.graph.node), params=params, ops=dict(ops.most_common()))


@dataclass
class ExportReport:
    path: str
    file_bytes: int = 0
    stages: dict[str, GraphStats] = field(default_factory=dict)  # unfused / fused / simplified
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    verified: bool | None = None
    verify_detail: str = ""

    def format(self) -> str:
        lines = [f"exported {self.path} ({self.file_bytes / 1e6:.2f} MB)"]
        for name, st in self.stages.items():
            lines.append(f"  {name:<11} {st.nodes:>5} nodes  {st.params:>11,} parameters")
        final = list(self.stages.values())[-1] if self.stages else None
        if final:
            hist = ", ".join(f"{op} {n}" for op, n in final.ops.items())
            lines.append(f"  ops: {hist}")
        if self.verified is None:
            lines.append("  verification skipped (--no-verify)")
        else:
            status = "PASSED" if self.verified else "FAILED"
            lines.append(f"  verification {status}: {self.verify_detail}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "file_bytes": self.file_bytes,
            "stages": {k: vars(v) for k, v in self.stages.items()},
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "verified": self.verified,
            "verify_detail": self.verify_detail,
        }
