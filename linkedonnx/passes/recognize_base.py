"""What the recognition rule families share: a rule base class that emits
``linkedonnx::Linked*`` calls, and :class:`HalvesRule`, the base of every family whose
flat form is ``Concat(first, second)`` of two halves of one pre-activation ``z`` (mirror
ReLU, SELU, Swish and PReLU, and min-max ReLU).

A :class:`HalvesRule` matches any two-input Concat and classifies each half by its
meaning (:mod:`linkedonnx.passes.half_semantics`), not by a list of spellings; the
family says which pair of known halves it emits a call for. Checks explain a refusal
with ``MatchResult.fail``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx import DOMAIN
from linkedonnx.functions import DOMAIN_VERSION, op_type
from linkedonnx.passes.half_semantics import Form, HalvesMatch, NotAHalf, match_halves


class LinkedRuleBase(P.RewriteRuleClassBase):
    """A rewrite rule whose replacement calls a linked function.

    Rules keep matched nodes in place (``remove_nodes=False``) so that a shared
    intermediate value (a ``Neg`` also read elsewhere) does not block the rewrite;
    the rewriter removes what became unused.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name=name, remove_nodes=False)

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
    Subclasses set :attr:`kind` and give the known pair of halves of ``sigma * z`` in
    :meth:`known_pair`; PReLU halves pass their slopes on to the call.
    """

    #: The linked kind this family emits (a key of ``linkedonnx.functions.FUNCTIONS``).
    kind: str = ""

    def __init__(self, name: str, sigma: int = 1, tau: int = 1) -> None:
        super().__init__(name)
        self.sigma, self.tau = sigma, tau

    def known_pair(
        self, first_slope: ir.Value | None, second_slope: ir.Value | None
    ) -> tuple[Form, Form] | None:
        """The forms the two halves must have (as functions of ``z``), or None when the
        halves lack what the pair needs (PReLU slopes)."""
        raise NotImplementedError

    def call_inputs(self, source: ir.Value, found: HalvesMatch) -> list[ir.Value]:
        """The inputs of the emitted call: the (possibly negated) ``z``, then any slopes."""
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
    """``Concat(f(z), f(-z))`` -> ``Linked<kind>(z)`` and ``Concat(f(-z), f(z))`` ->
    ``Linked<kind>(Neg(z))``: the mirror families (ReLU, SELU, Swish, PReLU) set
    :attr:`kind` and :attr:`half` (the known half ``f(sigma * z)`` as a form)."""

    #: The known half of ``sigma * z``.
    half: Callable[[int], Form]

    def __init__(self, neg_first: bool) -> None:
        name = op_type(self.kind)
        super().__init__(
            f"{name}(mirror, mirrored half first)" if neg_first else f"{name}(mirror)",
            sigma=-1 if neg_first else 1,
        )

    def known_pair(self, *_: ir.Value | None) -> tuple[Form, Form] | None:
        return self.half(self.sigma), self.half(-self.sigma)

    @classmethod
    def rules(cls) -> list[P.RewriteRule]:
        """The family's two rules: un-mirrored half first, then mirrored half first."""
        return [cls.rule(neg_first=False), cls.rule(neg_first=True)]
