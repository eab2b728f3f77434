"""The recognition pass: apply every rule family until none fires, counting each rule.

Rules run through the onnxscript rewriter, one rule at a time so the report can say
what each did. The bodies of the linkedonnx functions themselves are never rewritten
(they are the flat spellings, and would otherwise call themselves).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx import DOMAIN
from linkedonnx.kinds import KINDS, LinkedKind, kind
from linkedonnx.passes import (
    recognize_minmax,
    recognize_mirror,
    recognize_relu,
    recognize_transposed,
)
from linkedonnx.passes.attach_functions import model_opset, usable_at
from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.recognize_base import rule_kind

#: Rule family name (a kind's ``recognition`` entry) -> the family's rules for a kind.
FAMILIES: dict[str, Callable[[LinkedKind], list[P.RewriteRule]]] = {
    "mirror": recognize_mirror.rules,
    "crelu": recognize_relu.rules,
    "signed": recognize_minmax.rules,
}


def rules_for(name: str) -> list[P.RewriteRule]:
    """The rules that emit kind ``name`` (its recognition families, in order)."""
    k = kind(name)
    return [rule for family in k.recognition for rule in FAMILIES[family](k)]


def default_rules() -> list[P.RewriteRule]:
    """Every recognition rule of every family, in the order they are tried: each
    registered kind's families, then the transposes family."""
    return [*(r for name in KINDS for r in rules_for(name)), *recognize_transposed.rules()]


class RecognizeLinkedPass(CountingPass):
    """Rewrite flat spellings of linked activations into ``linkedonnx::Linked*`` calls.

    ``rules`` defaults to :func:`default_rules`; rounds repeat (at most
    ``max_rounds``) until no rule fires. Counts are keyed by rule name. The
    FunctionProtos are not attached here (see AttachFunctionsPass). Rules whose function
    needs ops the model's opset lacks are not tried.
    """

    def __init__(self, rules: Sequence[P.RewriteRule] | None = None, max_rounds: int = 10) -> None:
        super().__init__()
        self.rules = list(rules) if rules is not None else default_rules()
        self.max_rounds = max_rounds

    def run(self, model: ir.Model) -> bool:
        opset = model_opset(model)
        rules = [r for r in self.rules if (k := rule_kind(r)) is None or usable_at(k, opset)]
        # Keep our own functions out of reach of the rewriter while it runs.
        ours = {k: f for k, f in model.functions.items() if f.domain == DOMAIN}
        for key in ours:
            del model.functions[key]
        changed = False
        try:
            for _ in range(self.max_rounds):
                fired = 0
                for rule in rules:
                    n = P.RewriteRuleSet([rule]).apply_to_model(model)
                    if n:
                        self.count(rule.name, n)
                        fired += n
                if not fired:
                    break
                changed = True
        finally:
            for key, function in ours.items():
                model.functions[key] = function
        return changed
