"""How a corpus result is judged: a clear one-line error, a correct result, or a failure (with why)."""

from __future__ import annotations

import re
from typing import Any

# Exception types that say nothing to a user: the code tripped over the input instead of checking it.
UNCLEAR = {
    "KeyError",
    "IndexError",
    "AttributeError",
    "ZeroDivisionError",
    "OverflowError",
    "UnpicklingError",
    "AssertionError",
    "NameError",
    "UnboundLocalError",
    "StopIteration",
    "NotImplementedError",
    "error",
    "RecursionError",
    "MemoryError",
    "UnicodeDecodeError",
    "JSONDecodeError",
}
CLEAR = {"EdgeYoloError", "ContractError", "BackendError", "ValueError", "TypeError", "OSError"}
_CLI_ERROR = re.compile(r"^edgeyolo(?: [a-z]+)?: error: (.{10,})$")


def judge(case: dict[str, Any], result: dict[str, Any]) -> tuple[str, str | None]:
    """("error" | "ok", None) when the case behaved, else ("fail", why)."""
    outcome = result["outcome"]
    if outcome in ("traceback", "hang", "wrong"):
        return (
            "fail",
            f"{outcome}: {result.get('traceback') or result.get('message') or result.get('problem')}",
        )
    if outcome == "ok":
        got = "ok"
    elif case["mode"] == "cli":
        lines = [line for line in result["stderr"].splitlines() if line.strip()]
        errors = [line for line in lines if _CLI_ERROR.match(line)]
        if result["exit"] != 2:
            return "fail", f"exit {result['exit']}: {result['stderr'][-500:]}"
        # exactly one error line, and it is the last: a message spread over lines would follow it
        if len(errors) != 1 or lines[-1] != errors[0] or "Traceback" in result["stderr"]:
            return "fail", f"not one error line: {result['stderr'][-500:]}"
        got = "error"
    else:
        message = result.get("message", "")
        if result["type"] in UNCLEAR or not CLEAR & set(result["mro"]):
            return "fail", f"unclear {result['type']}: {message}"
        if "\n" in message.strip() or len(message.strip()) < 10:
            return "fail", f"not a one-line message: {result['type']}: {message!r}"
        got = "error"
    if case["expect"] != "any" and got != case["expect"]:
        return (
            "fail",
            f"expected {case['expect']}, got {got}: {result.get('message') or result['stderr'][-300:]}",
        )
    return got, None
