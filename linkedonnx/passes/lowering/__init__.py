"""The standard-op forms a linked function node can be lowered to (no torch here).

A linked node ``Y = Linked*(Z, axis)`` computes ``Y = concat([h1(Z), h2(Z)], axis)``.
Each form rewrites one node (and, for some forms, its producer or consumers) into
plain ONNX ops, exact up to float32 rounding (split and dw reorder the consumer's sums),
one module per form: :mod:`.split`, :mod:`.dw`, :mod:`.stacked`, :mod:`.inline`. They
share the site analysis (:mod:`.site`) and graph edits (:mod:`.build`).

Each form is a function ``(graph, namer, site) -> FormResult``: true when it rewrote
the node, else ``.reason`` says why it does not apply (the node is left untouched).
"""

from __future__ import annotations

from collections.abc import Callable

import onnx_ir as ir

from linkedonnx.passes.ir_helpers import Namer
from linkedonnx.passes.lowering.dw import apply_dw
from linkedonnx.passes.lowering.inline import apply_inline
from linkedonnx.passes.lowering.result import FormResult
from linkedonnx.passes.lowering.site import LinkedSite, is_linked, site_of
from linkedonnx.passes.lowering.split import apply_split
from linkedonnx.passes.lowering.stacked import apply_stacked

#: Every form, in the order they are tried when no preference is given.
FORMS = ("split", "dw", "stacked", "inline")

Form = Callable[[ir.Graph, Namer, LinkedSite], FormResult]

#: form name -> function(graph, namer, site) -> FormResult.
APPLY: dict[str, Form] = {
    "split": apply_split,
    "dw": apply_dw,
    "stacked": apply_stacked,
    "inline": apply_inline,
}

__all__ = ["APPLY", "FORMS", "FormResult", "LinkedSite", "is_linked", "site_of"]
