"""Every block module of the model zoo. Importing this registers all their blocks in `REGISTRY`."""

from edgeyolo.models import head
from edgeyolo.models.layers import activations, conv, csp, mobilenet, mobilenetv4, neck, pooling
from edgeyolo.models.registry import REGISTRY

MODULES = (head, activations, conv, csp, mobilenet, mobilenetv4, neck, pooling)

__all__ = ["MODULES", "REGISTRY"]
