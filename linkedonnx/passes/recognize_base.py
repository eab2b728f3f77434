"""What the recognition rule families share: a rule base class that emits
``linkedonnx::Linked*`` calls, and :class:`HalvesRule`, the base of every family whose
flat form is ``Concat(first, second)`` of two halves of one pre-activation ``z`` (every
kind's mirror family, and min-max ReLU's signed family).

A :class:`HalvesRule` matches any two-input Concat and classifies each half by its
meaning (:mod:`linkedonnx.passes.half_semantics`), not by a list of spellings; the
family says which pair of known halves it emits a call for, from the kind's halves in
the registry (:mod:`linkedonnx.kinds`). Every rule carries the kind it emits
(:func:`rule_kind`). Checks explain a refusal with ``MatchResult.fail``.
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx import DOMAIN
from linkedonnx.functions import DOMAIN_VERSION, op_type
from linkedonnx.kinds import KINDS, LinkedKind
from linkedonnx.passes.half_semantics import Form, HalvesMatch, NotAHalf, half_form, match_halves

#: The attribute of a rewrite rule naming the linked kind it emits.
KIND_ATTRIBUTE = "linked_kind"


def rule_kind(rule: P.RewriteRule) -> str | None:
    """The linked kind a rule emits (None for a rule that emits none)."""
    return getattr(rule, KIND_ATTRIBUTE, None)


class LinkedRuleBase(P.RewriteRuleClassBase):
    """A rewrite rule whose replacement calls a linked function.

    Rules keep matched nodes in place (``remove_nodes=False``) so that a shared
    intermediate value (a ``Neg`` also read elsewhere) does not block the rewrite;
    the rewriter removes what became unused. ``kind`` is the kind the rule emits; build
    rules with :meth:`kind_rule` so the rule carries it.
    """

    def __init__(self, name: str, kind: str) -> None:
        super().__init__(name=name, remove_nodes=False)
        self.kind = kind

    @classmethod
    def kind_rule(cls, kind: LinkedKind, **kwargs: Any) -> P.RewriteRule:
        """The rewrite rule of this class for ``kind`` (other arguments as the class
        takes them), carrying the kind (:func:`rule_kind`)."""
        made = cls.rule(kind=kind.name, **kwargs)
        setattr(made, KIND_ATTRIBUTE, kind.name)
        return made

    @staticmethod
    def axis_of(out: ir.Value) -> int:
        """The ``axis`` attribute of the node producing ``out`` (a Concat)."""
        producer = out.producer()
        assert producer is not None
        return int(producer.attributes["axis"].value)

    @staticmethod
    def emit(op: Any, kind: str, inputs: list[ir.Value], axis: int) -> ir.Value:
        """Emit a call of the linked function of ``kind`` on ``inputs`` with ``axis``."""
        return op.op(op_type(kind), *inputs, _domain=DOMAIN, _version=DOMAIN_VERSION, axis=axis)


class HalvesRule(LinkedRuleBase):
    """``Concat(first, second)`` of two halves of one ``z`` -> ``tau * Linked<kind>(sigma*z)``.

    ``sigma`` = -1 means the halves are those of ``-z`` (the call reads ``Neg(z)``);
    ``tau`` = -1 means the whole output is negated (the call is followed by a Neg).
    The known pair is the kind's halves (:attr:`LinkedKind.halves`) of ``sigma * z``
    times ``tau``; halves with slopes (PReLU) pass them on to the call.
    """

    def __init__(self, name: str, kind: str, sigma: int = 1, tau: int = 1) -> None:
        super().__init__(name, kind)
        self.sigma, self.tau = sigma, tau

    def known_pair(
        self, first_slope: ir.Value | None, second_slope: ir.Value | None
    ) -> tuple[Form, Form] | None:
        """The forms the two halves must have (as functions of ``z``), or None when the
        halves lack what the pair needs (PReLU slopes)."""
        first, second = KINDS[self.kind].halves
        if KINDS[self.kind].has_slopes and (first_slope is None or second_slope is None):
            return None
        return (
            half_form(first, self.sigma, self.tau, first_slope),
            half_form(second, self.sigma, self.tau, second_slope),
        )

    def call_inputs(self, source: ir.Value, found: HalvesMatch) -> list[ir.Value]:
        """The inputs of the emitted call: the (possibly negated) ``z``, then any slopes."""
        if KINDS[self.kind].has_slopes:
            assert found.first_slope is not None and found.second_slope is not None
            return [source, found.first_slope, found.second_slope]
        return [source]

    def find(self, first: ir.Value, second: ir.Value) -> HalvesMatch:
        """Match the two halves against :meth:`known_pair`; raises NotAHalf."""
        return match_halves(first, second, self.known_pair)

    def pattern(self, op: Any, first: Any, second: Any) -> Any:
        return op.Concat(first, second, _outputs=["out"])

    def check(self, context: Any, first: ir.Value, second: ir.Value, **_: Any) -> P.MatchResult:
        result = P.MatchResult()
        try:
            self.find(first, second)
        except NotAHalf as exc:
            return result.fail(f"{self.kind}: {exc}")
        return result

    def rewrite(
        self, op: Any, first: ir.Value, second: ir.Value, out: ir.Value, **_: Any
    ) -> ir.Value:
        found = self.find(first, second)
        source = op.Neg(found.z) if self.sigma < 0 else found.z
        call = self.emit(op, self.kind, self.call_inputs(source, found), self.axis_of(out))
        return op.Neg(call) if self.tau < 0 else call


class MirrorRule(HalvesRule):
    """``Concat(h1(z), h2(z))`` -> ``Linked<kind>(z)`` and, the halves of ``-z``,
    ``Concat(h1(-z), h2(-z))`` -> ``Linked<kind>(Neg(z))`` (for a mirror kind
    ``h2(z) = h1(-z)``: the mirrored half first)."""

    def __init__(self, kind: str, neg_first: bool) -> None:
        name = op_type(kind)
        super().__init__(
            f"{name}(mirror, mirrored half first)" if neg_first else f"{name}(mirror)",
            kind,
            sigma=-1 if neg_first else 1,
        )
