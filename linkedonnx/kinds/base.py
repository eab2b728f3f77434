"""What a linked kind is, in every world (no torch imported here): :class:`LinkedKind`.

A kind module (``relu.py``, ``swish.py`` ...) builds one :class:`LinkedKind` saying once:
its ONNX function (and older-opset bodies), the meaning of its two halves for
recognition, the data the lowering forms need, its INT8 range rule, its dead-unit rule,
its zoo name, the activations linkify maps to it, and, in functions that import torch
only when called, its torch module. The registry (:mod:`linkedonnx.kinds`) lists them;
every other layer iterates the registry.

Torch stays out of import time so that the ONNX side (functions, passes, runtime,
quantization) can read the registry without torch installed; the torch side calls the
kind's ``torch_*`` functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from onnxscript.values import OnnxFunction, Opset

from linkedonnx import DOMAIN
from linkedonnx.kinds.spelling import Op

#: Version of the linkedonnx function domain.
DOMAIN_VERSION = 1
#: The onnxscript opset of the linkedonnx domain (the functions are declared in it).
linked_domain = Opset(DOMAIN, DOMAIN_VERSION)

#: The default-domain opset the function bodies use (unless a body says otherwise).
BODY_OPSET = 18

#: How the lowering forms' data and the quantizer's ranges treat a kind.
UNSIGNED, UNION = "unsigned", "union"
#: Dead-unit rule: a unit is dead when it is exactly zero for every input seen.
EXACT_ZERO = "exact zero"


@dataclass(frozen=True)
class Half:
    """One half of a linked activation as a function of the shared ``z``:
    ``tau * f(sigma * z)``, ``f`` named by ``activation`` ('relu', 'prelu' (its own
    slope), or the name of a kind's :class:`Activation`)."""

    activation: str
    sigma: int = 1
    tau: int = 1


@dataclass(frozen=True)
class Activation:
    """An elementwise activation outside the piecewise-linear core of the half grammar
    (SELU, Swish ...): how it is spelled in standard ops and what IEEE arithmetic
    gives at the edges, so the recognizer can tell a half's meaning class by class.

    ``spellings`` are (first opset, last opset or None, tree): the trees recognized as
    this activation in a model of that default-domain opset, each exactly the function
    body's spelling there, so a rewrite is bit-exact; ``overflows``:
    ``f(x)`` may overflow for a finite positive ``x``; ``nan_at_minus_inf``:
    ``f(-inf)`` is NaN (else finite); ``f(0)`` is exactly 0 and ``f(+inf)`` is +inf."""

    name: str
    spellings: tuple[tuple[int, int | None, Op], ...]
    overflows: bool = False
    nan_at_minus_inf: bool = False

    def spellings_at(self, opset: int | None) -> list[Op]:
        """The trees recognized in a model of default-domain ``opset`` (None: unknown,
        only those valid at every opset)."""
        return [
            tree
            for first, last, tree in self.spellings
            if (opset is None and first <= 1 and last is None)
            or (opset is not None and first <= opset and (last is None or opset <= last))
        ]


@dataclass(frozen=True)
class Lowering:
    """What the lowering forms need to know of a kind.

    ``elementwise``: one half's activation applied to its input (the stacked form
    applies it to ``[z; -z]``, the dw form to ``z`` and ``-z``); ``coefficients``: for a
    piecewise-linear kind, each half as ``alpha*relu(z) + beta*relu(-z)``
    (``((alpha1, beta1), (alpha2, beta2))``; PReLU's come from its slopes), else None;
    ``dw``: the dw form applies (the activation runs in ORT's NCHWc layout);
    ``cpu_forms``: the forms tried in order for the CPU without timing (``optimize
    --no-tune``; inline is the final fallback), from ``benchmarks/bench_passes.py``."""

    elementwise: Op
    coefficients: tuple[tuple[float, float], tuple[float, float]] | None = None
    dw: bool = False
    cpu_forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkedKind:
    """One linked kind (see the module docstring); built once, in its kind module.

    ``name``: the kind's key ('relu', 'relu-minmax', ...); ``function``: the onnxscript
    function ``linkedonnx::<Name>(X[, slopes], axis)``; ``older_bodies``: (first opset
    where ``function`` applies, the body computing the same for older default-domain
    opsets); ``halves``: the two halves' meaning; ``activation``: the elementwise
    activation the halves apply when it is not relu/prelu; ``recognition``: the rule
    families of :mod:`linkedonnx.passes` that emit it ('mirror', 'crelu', 'signed');
    ``int8_range``: the range the two lowered halves share, :data:`UNSIGNED` (both in
    ``[0, max|z|]``, zero point 0: Relu halves) or :data:`UNION` (the union of the
    halves' ranges); ``int8_float_ops``: ops of its activation ORT leaves in float
    between DequantizeLinear and QuantizeLinear when present, and ``int8_note`` what
    the quantize report says when none is (empty: no note); ``title``: its name in
    reports ('LK-Swish'); ``dead_unit``: the rule that
    says a unit is dead; ``zoo_name`` and ``zoo_policy``: the zoo's activation name and
    policy suffix (``lk-<zoo_name>[-<policy>]``); ``linkify_name``: linkify's
    ``--activation`` value; ``torch_linked(axis, original, channels)``: the torch module
    (torch imported when called; ``original``: the activation module it replaces, or
    None; ``channels``: the input's channel count);
    ``torch_single(channels)``: the plain (single) torch activation of the zoo;
    ``torch_sources()``: (modules, functions) linkify replaces by this kind."""

    name: str
    function: OnnxFunction
    halves: tuple[Half, Half]
    lowering: Lowering
    zoo_name: str
    linkify_name: str
    torch_linked: Callable[[int, Any, int], Any]
    torch_single: Callable[[int], Any] | None = None
    torch_sources: Callable[[], tuple[tuple[Any, ...], tuple[Any, ...]]] | None = None
    zoo_policy: str | None = None
    activation: Activation | None = None
    older_bodies: tuple[tuple[int, OnnxFunction], ...] = ()
    recognition: tuple[str, ...] = ("mirror",)
    int8_range: str = UNION
    int8_float_ops: tuple[str, ...] = ()
    int8_note: str = ""
    dead_unit: str = EXACT_ZERO
    title: str = field(default="", compare=False)

    @property
    def op_type(self) -> str:
        """The function's name (op_type in the linkedonnx domain)."""
        return str(self.function.name)

    @property
    def has_slopes(self) -> bool:
        """True when the halves carry per-channel slopes (extra function inputs)."""
        return any(h.activation == "prelu" for h in self.halves)

    def body_for(self, opset: int | None) -> tuple[OnnxFunction, bool]:
        """The function body for a model of default-domain ``opset`` (None: the current
        one) and whether it is an older-opset body."""
        if opset is not None:
            for since, older in self.older_bodies:
                if opset < since:
                    return older, True
        return self.function, False


__all__ = [
    "BODY_OPSET",
    "DOMAIN_VERSION",
    "EXACT_ZERO",
    "UNION",
    "UNSIGNED",
    "Activation",
    "Half",
    "LinkedKind",
    "Lowering",
    "linked_domain",
]
