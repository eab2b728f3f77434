"""The mirror family: recognize ``Concat(h1(z), h2(z))`` of a kind's two halves as
``linkedonnx::Linked<Kind>(z)``, for every registered kind that lists "mirror" among
its recognition families (:mod:`linkedonnx.kinds`).

Each half may be spelled any way of the grammar of
:mod:`linkedonnx.passes.half_semantics` (Relu, Max/Clip/Where against zero,
``Sub(Relu(x), x)``, ``Selu(Mul(x, -1))``, torch's PReLU ``Where(Less(x, 0), x*s, x)``,
Swish's ``x*Sigmoid(x)`` in either order ...). With the halves of ``-z`` (the mirrored
half first) the call reads ``Neg(z)`` (exact: ``-(-z) == z``). PReLU halves keep their
slopes, which broadcast to ``z`` as in the flat graph. Only activations spelled as the
function body is at the model's opset match (a SELU with other alpha or gamma does
not), so every rewrite is exact.
"""

from __future__ import annotations

from onnxscript.rewriter import pattern as P

from linkedonnx.kinds import LinkedKind
from linkedonnx.passes.recognize_base import MirrorRule


def rules(kind: LinkedKind) -> list[P.RewriteRule]:
    """The family's two rules for ``kind``: un-mirrored half first, then mirrored half
    first."""
    return [
        MirrorRule.kind_rule(kind, neg_first=False),
        MirrorRule.kind_rule(kind, neg_first=True),
    ]
