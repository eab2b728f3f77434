"""linkify: any traceable PyTorch network's activations made linked (torch world).

``linkify(module, activation="lk-relu", *, example_input, preserve_function=True)``
returns ``(GraphModule, LinkifyReport)``; see :mod:`linkedonnx.linkify.core`.
"""

from linkedonnx.linkify.core import count_parameters, linkify, relinkify
from linkedonnx.linkify.options import ACTIVATIONS, LinkifyOptions
from linkedonnx.linkify.report import ActivationEntry, LinkifyReport
from linkedonnx.linkify.trace import LinkifyError

__all__ = [
    "ACTIVATIONS",
    "ActivationEntry",
    "LinkifyError",
    "LinkifyOptions",
    "LinkifyReport",
    "count_parameters",
    "linkify",
    "relinkify",
]
