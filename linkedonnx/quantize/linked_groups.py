"""Where a lowered linked activation leaves its two halves, and the shared
quantization ranges that follow (no torch here).

After lowering (:func:`linkedonnx.passes.optimize.optimize`) a linked activation is
plain ops. This module finds, in such a float model:

- mirror pairs: ``h1 = act(z)`` and ``h2 = act(-z)`` where ``-z`` is a ``Neg`` or a
  depthwise 1x1 ``Conv`` with weight -1 (the inline and dw forms), ``act`` one of
  LeakyRelu, Elu or the activation of a registered kind as spelled in standard ops
  (:data:`linkedonnx.kinds.HALF_TREES`: Relu, PRelu, Selu, Swish ``x * Sigmoid(x)``
  ...), plus the ``Concat`` of the two halves when there is one. Both halves and the
  Concat get one shared range, so one scale and zero point: the kind's INT8 range rule,
  for ReLU ``[0, max(|z|)]`` (unsigned 8-bit, zero point 0), otherwise the union of the
  halves' ranges;
- split sites: ``z`` read both by a ``Relu`` and directly by a linear consumer
  (the split form); ONNX Runtime's QDQ quantizer gives ``z`` one QuantizeLinear
  whose scale every consumer shares, and ``relu(z)`` gets the same range, so the
  Relu is exact on the 8-bit tensor (:mod:`linkedonnx.quantize.integer_relu`).

:func:`shared_range_overrides` turns calibrated ranges into ORT's
``TensorQuantOverrides`` (``rmin`` / ``rmax`` per tensor).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import onnx

from linkedonnx.kinds import HALF_TREES, UNSIGNED
from linkedonnx.kinds.spelling import ProtoView, label, match, proto_constants

#: Elementwise activations a linked half can be besides the registered kinds' (those of
#: generic ``Linked(fn)`` modules).
OTHER_HALF_OPS = ("LeakyRelu", "Elu")
LINEAR_OPS = ("Conv", "Gemm", "MatMul")
#: Half label -> True when its pair shares an unsigned range (the kind's INT8 rule).
UNSIGNED_LABELS = {
    label(tree, k.activation.name if k.activation else k.name): k.int8_range == UNSIGNED
    for k, tree in HALF_TREES
}


@dataclass
class MirrorPair:
    """The two halves of one linked activation that both exist as tensors."""

    act: str
    z: str
    halves: tuple[str, str]
    concat: str | None = None

    @property
    def tensors(self) -> list[str]:
        """The tensors that share one range: both halves, then the Concat output."""
        return [*self.halves, *([self.concat] if self.concat else [])]

    @property
    def unsigned(self) -> bool:
        """True for halves whose kind's INT8 range is unsigned (ReLU): unsigned 8-bit with
        zero point 0."""
        return UNSIGNED_LABELS.get(self.act, False)


@dataclass
class SplitSite:
    """The split form's ``z`` (read by linear consumers, or concatenated after
    ``relu(z)`` by :class:`~linkedonnx.quantize.concat_z.ConcatZPass`), ``relu(z)`` and
    that Concat's output."""

    z: str
    relu: str
    concat: str | None = None

    @property
    def tensors(self) -> list[str]:
        """The tensors that take the range of ``z``."""
        return [self.relu, *([self.concat] if self.concat else [])]


@dataclass
class LinkedLayout:
    """Mirror pairs and split sites of one lowered float model."""

    pairs: list[MirrorPair] = field(default_factory=list)
    splits: list[SplitSite] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Pairs by activation and the number of split sites (for reports)."""
        out: dict[str, int] = {}
        for pair in self.pairs:
            key = f"pair {pair.act}" + (" + Concat" if pair.concat else "")
            out[key] = out.get(key, 0) + 1
        if self.splits:
            out["split z"] = len(self.splits)
        joined = sum(1 for site in self.splits if site.concat)
        if joined:
            out["split z (one conv over relu(z) and z)"] = joined
        return out


def _is_negation(node: onnx.NodeProto, consts: Mapping[str, np.ndarray]) -> bool:
    """``Neg(z)``, or a depthwise 1x1 Conv of ``z`` with weight -1 and no (or zero) bias."""
    if node.op_type == "Neg":
        return True
    if node.op_type != "Conv" or len(node.input) < 2:
        return False
    weight = consts.get(node.input[1])
    if weight is None or weight.ndim != 4 or weight.shape[1:] != (1, 1, 1):
        return False
    group = next((a.i for a in node.attribute if a.name == "group"), 1)
    if group != weight.shape[0] or not np.all(weight == -1):
        return False
    bias = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if len(node.input) > 2 and node.input[2] and bias is None:
        return False
    return bias is None or not np.any(bias)


def spelled_halves(graph: onnx.GraphProto) -> dict[str, list[tuple[str, str]]]:
    """Tensor -> (activation label, output) of every elementwise half computed from it, in
    node order: the registered kinds' trees (:data:`linkedonnx.kinds.HALF_TREES`) and
    :data:`OTHER_HALF_OPS`."""
    view = ProtoView(graph)
    out: dict[str, list[tuple[str, str]]] = {}
    for node in graph.node:
        if len(node.output) != 1 or node.domain not in ("", "ai.onnx"):
            continue
        if node.op_type in OTHER_HALF_OPS and node.input:
            out.setdefault(node.input[0], []).append((node.op_type, node.output[0]))
            continue
        for k, tree in HALF_TREES:
            if tree.op_type != node.op_type:
                continue
            x = match(tree, node.output[0], view)
            if x is not None:
                name = k.activation.name if k.activation else k.name
                out.setdefault(x, []).append((label(tree, name), node.output[0]))
                break
    return out


def tensor_readers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    """Tensor name -> the nodes of ``graph`` (its own nodes, not subgraphs') that read
    it, in graph order; optional inputs left empty are not tensors."""
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            if name:
                readers.setdefault(name, []).append(node)
    return readers


def find_layout(model: onnx.ModelProto) -> LinkedLayout:
    """Find the mirror pairs and split sites of a lowered float ``model`` (main graph)."""
    consts = proto_constants(model.graph)
    halves = spelled_halves(model.graph)
    consumers = tensor_readers(model.graph)
    layout = LinkedLayout()
    seen: set[str] = set()
    for node in model.graph.node:
        if not _is_negation(node, consts):
            continue
        z, neg = node.input[0], node.output[0]
        first, second = halves.get(z, []), halves.get(neg, [])
        for act, h1 in first:
            h2 = next((out for a, out in second if a == act and out not in seen), None)
            if h2 is None or h1 in seen:
                continue
            seen |= {h1, h2}
            concat = next(
                (
                    c.output[0]
                    for c in consumers.get(h1, [])
                    if c.op_type == "Concat" and sorted(c.input) == sorted([h1, h2])
                ),
                None,
            )
            layout.pairs.append(MirrorPair(act, z, (h1, h2), concat))
    negated = {p.z for p in layout.pairs}
    for node in model.graph.node:
        if node.op_type != "Relu" or node.input[0] in negated:
            continue
        z, relu = node.input[0], node.output[0]
        readers = consumers.get(z, [])
        concat = next(
            (r.output[0] for r in readers if r.op_type == "Concat" and list(r.input) == [relu, z]),
            None,
        )
        if concat is not None or any(r.op_type in LINEAR_OPS and r.input[0] == z for r in readers):
            layout.splits.append(SplitSite(z, relu, concat))
    return layout


def shared_range_overrides(
    layout: LinkedLayout, ranges: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, list[dict[str, np.float32]]]:
    """ORT ``TensorQuantOverrides`` giving every tensor of a mirror pair one range:
    ``[0, max]`` for ReLU halves (so unsigned 8-bit, zero point 0), the union of the
    calibrated ranges otherwise; a split site's ``relu(z)`` (and its Concat with ``z``)
    gets the range of ``z`` (float32 rmin/rmax, as ORT wants). ``ranges`` maps
    tensor name -> (low, high) arrays; pairs
    with a tensor that was not calibrated are left to the stock quantizer."""
    overrides: dict[str, list[dict[str, np.float32]]] = {}
    for pair in layout.pairs:
        if not all(t in ranges for t in pair.tensors):
            continue
        lows = [float(np.min(ranges[t][0])) for t in pair.tensors]
        highs = [float(np.max(ranges[t][1])) for t in pair.tensors]
        rmin = 0.0 if pair.unsigned else min(0.0, *lows)
        rmax = max(0.0, *highs)
        for tensor in pair.tensors:
            overrides[tensor] = [{"rmin": np.float32(rmin), "rmax": np.float32(rmax)}]
    for site in layout.splits:
        if site.z in ranges and all(t in ranges for t in site.tensors):
            low, high = ranges[site.z]
            same = {
                "rmin": np.float32(min(0.0, float(np.min(low)))),
                "rmax": np.float32(np.max(high)),
            }
            for tensor in site.tensors:
                overrides[tensor] = [dict(same)]
    return overrides
