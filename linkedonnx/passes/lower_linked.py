"""LowerLinkedPass: rewrite every linked function node into the first applicable form of
a per-kind preference list (forms in :mod:`linkedonnx.passes.lowering`). Nodes left
in ``inline`` form are inlined later by :class:`~linkedonnx.passes.lower_inline.InlineLinkedPass`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import onnx_ir as ir

from linkedonnx.kinds import KINDS
from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.ir_helpers import Namer
from linkedonnx.passes.lowering import APPLY, FORMS, is_linked, site_of

Preference = Mapping[str, Sequence[str]]


def site_id(node: ir.Node) -> str:
    """The name a linked site goes by in per-site choices: its output's name (unique in
    the graph and the same in every copy of one prepared model)."""
    return node.outputs[0].name or ""


def uniform_preference(form: str) -> dict[str, tuple[str, ...]]:
    """A preference that tries ``form`` for every kind, then falls back to inline."""
    if form not in APPLY:
        raise ValueError(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")
    order = (form, "inline") if form != "inline" else ("inline",)
    return {kind: order for kind in KINDS}


class LowerLinkedPass(CountingPass):
    """Lower linked nodes of the main graph by preference (kind -> forms to try in order;
    a kind missing from it is inlined; ``site_forms`` (site id -> form, see
    :func:`site_id`) puts one form first for a site). Counts ``<kind>:<form>`` per node
    lowered and ``skipped <form>: <reason>`` for every form that did not apply; ``sites``
    holds site id -> form applied after a run."""

    def __init__(
        self,
        preference: Preference,
        name: str = "LowerLinked",
        site_forms: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        site_forms = dict(site_forms or {})
        for forms in (*preference.values(), site_forms.values()):
            for form in forms:
                if form not in APPLY:
                    raise ValueError(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")
        self.preference = {k: tuple(v) for k, v in preference.items()}
        self.site_forms = site_forms
        self.sites: dict[str, str] = {}
        self.name = name

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        namer = Namer(graph)
        changed = False
        for node in [n for n in graph if is_linked(n)]:
            site = site_of(node)
            key = site_id(node)
            first = self.site_forms.get(key)
            order = (first,) if first is not None else self.preference.get(site.kind, ())
            for form in (*order, "inline"):
                result = APPLY[form](graph, namer, site_of(node))
                if result:
                    self.count(f"{site.kind}:{form}")
                    self.sites[key] = form
                    changed = changed or form != "inline"
                    break
                self.count(f"skipped {form}: {result.reason}")
        return changed
