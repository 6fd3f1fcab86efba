"""`edgeyolo bench`: what a detector costs on this machine, stage by stage, side by side.

Imports only the runtime, the standard library and numpy at module level (it must run on a device with
nothing but the runtime installed); matplotlib, pycocotools and torch are imported where needed.
"""

from edgeyolo.bench.harness import BenchModel, BenchOptions, ModelResult, run_benchmark
from edgeyolo.bench.stats import Summary, summarize

__all__ = ["BenchModel", "BenchOptions", "ModelResult", "Summary", "run_benchmark", "summarize"]
