"""The registry of tracking methods: each registers itself where it is defined (``@register("name")``).

A method is a class built from its ``Options`` dataclass, with ``update(xyxy, confidence, class_id)``
returning one identity per box (-1: none yet) and ``reset()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np


class Method(Protocol):
    """What `Tracker` drives: one instance per stream."""

    def update(self, xyxy: np.ndarray, confidence: np.ndarray, class_id: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


METHODS: dict[str, Any] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a tracking method available to ``Tracker(method=name)``."""

    def add(cls: type) -> type:
        METHODS[name] = cls
        return cls

    return add
