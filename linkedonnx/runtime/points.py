"""Comparison points of an ONNX model: where each layer's values live (no torch here).

A point is one value a reference can also produce, named by the torch module path of
the layer that made it:

- a linked layer's pre-activation ``z`` (kind ``"z"``): input[0] of a
  ``linkedonnx::Linked*`` node, or, after lowering, output[0] of the node whose
  ``metadata_props['linkedonnx.z']`` is ``{"scope": <the linked node's name_scopes>,
  "channels": [start, stop] or null}`` (a channel slice on axis 1, e.g. the first half
  of a stacked producer's output);
- a layer's output (kind ``"output"``): output[0] of a ``Linked*`` node, or of the last
  node (graph order) inside a module path, read from the exporter's
  ``pkg.torch.onnx.name_scopes``. A lowered linked layer has no output point: its nodes
  compute a rearranged form of it, and so do the nodes reading them up to the linear
  consumer (Conv, Gemm, MatMul) that absorbs the change; those have none either.

A value that is both a producer's output and a linked layer's z is one point, named
after the linked layer. In a model without name scopes (other exporters) nodes are
named by their output value name; in a scoped model an unscoped node (a cast a pass
added) is no point. :func:`capture` runs a model with its points marked as extra graph
outputs (a separate session: marking changes ONNX Runtime's fusions, so verdicts on the
final outputs come from the unmodified model).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx

from linkedonnx import DOMAIN
from linkedonnx.functions import KIND_OF_OP
from linkedonnx.runners.base import Runner

SCOPES_KEY = "pkg.torch.onnx.name_scopes"
Z_KEY = "linkedonnx.z"
BATCH_NORM = "BatchNormalization"
#: Linear ops a lowering rewrites so that they read a linked layer's rearranged output
#: and still compute what they did: their outputs are faithful again.
ABSORBING_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})

Channels = tuple[int, int] | None


@dataclass(frozen=True)
class Point:
    """One comparison point: module ``path`` (or value name), ``kind`` ('z' or
    'output'), the ONNX ``value`` holding it, an optional channel slice on axis 1 and
    the position (node index) that orders points in graph order."""

    path: str
    kind: str
    value: str
    channels: Channels = None
    position: int = 0

    @property
    def key(self) -> tuple[str, str]:
        """(path, kind): how a reference names the same point."""
        return (self.path, self.kind)

    @property
    def label(self) -> str:
        """e.g. 'conv4.1 z' or 'conv3.0'."""
        return f"{self.path} z" if self.kind == "z" else self.path


def _metadata(node: onnx.NodeProto) -> dict[str, str]:
    return {p.key: p.value for p in node.metadata_props}


def parse_scopes(text: str) -> list[str]:
    """The module chain of a ``pkg.torch.onnx.name_scopes`` value (a Python list
    literal: root '', module paths, then the node's own name): the module paths only.
    Returns [] when the text is not such a list."""
    try:
        scopes = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        return []
    return [s for s in scopes[:-1] if s]


def _module_chain(node: onnx.NodeProto) -> list[str]:
    text = _metadata(node).get(SCOPES_KEY)
    return parse_scopes(text) if text else []


def is_linked_node(node: onnx.NodeProto) -> bool:
    """Whether ``node`` calls a linkedonnx function."""
    return node.domain == DOMAIN and node.op_type in KIND_OF_OP


def _z_marker(node: onnx.NodeProto) -> tuple[str, Channels] | None:
    text = _metadata(node).get(Z_KEY)
    if not text:
        return None
    try:
        data = json.loads(text)
        chain = parse_scopes(str(data["scope"]))
        channels = data.get("channels")
        span = None if channels is None else (int(channels[0]), int(channels[1]))
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return (chain[-1], span) if chain else None


def all_points(model: onnx.ModelProto) -> list[Point]:
    """Every point of ``model``'s main graph, in graph order, including those that name
    the same value twice (a producer's output that is also a linked layer's z, a
    container whose output is its last child's): what a reference offers."""
    nodes = list(model.graph.node)
    chains = [_module_chain(n) for n in nodes]
    producer = {out: i for i, n in enumerate(nodes) for out in n.output if out}
    points: list[Point] = []
    lowered: set[str] = set()
    for i, node in enumerate(nodes):
        if is_linked_node(node) and node.input and node.input[0]:
            if not chains[i]:  # no name scopes: the node's name (or its output's) stands in
                chains[i] = [node.name or node.output[0]]
            path = chains[i][-1]
            points.append(Point(path, "z", node.input[0], None, producer.get(node.input[0], i)))
            continue
        marker = _z_marker(node)
        if marker is not None and node.output and node.output[0]:
            points.append(Point(marker[0], "z", node.output[0], marker[1], i))
            lowered.add(marker[0])
    # value names stand in for module paths only in a model without name scopes (a
    # scoped model's unscoped nodes are casts and the like a pass added)
    fallback = not any(chains)
    outputs: dict[str, Point | None] = {}
    rearranged: set[str] = set()
    for i, node in enumerate(nodes):
        # a lowered linked layer's nodes hold a rearranged form of its output (halves
        # apart, a sign moved into the consumer's weights), and so does what reads them
        # until a linear consumer has absorbed the change
        if any(path in lowered for path in chains[i]) or (
            node.op_type not in ABSORBING_OPS and any(v in rearranged for v in node.input)
        ):
            rearranged.update(v for v in node.output if v)
        if not node.output or not node.output[0]:
            continue
        chain = chains[i] or ([node.output[0]] if fallback else [])
        valid = node.output[0] not in rearranged
        for path in chain:
            outputs[path] = Point(path, "output", node.output[0], None, i) if valid else None
    points.extend(p for p in outputs.values() if p is not None)
    return sorted(points, key=lambda p: (p.position, p.kind != "z"))


def find_points(model: onnx.ModelProto) -> list[Point]:
    """The comparison rows of ``model``: :func:`all_points` with one point per (value,
    channel slice), preferring a linked layer's z, then the deepest module."""
    chosen: dict[tuple[str, Channels], Point] = {}
    for p in all_points(model):
        key = (p.value, p.channels)
        old = chosen.get(key)
        if old is None or (old.kind != "z" and (p.kind == "z" or _deeper(p.path, old.path))):
            chosen[key] = p
    return sorted(chosen.values(), key=lambda p: (p.position, p.kind != "z"))


def _deeper(path: str, other: str) -> bool:
    return path.startswith(other + ".") if other else True


def folded_batch_norms(model: onnx.ModelProto) -> dict[str, str]:
    """Module path P -> module path Q for each BatchNormalization node (in module Q)
    reading the output point of module P: where a model that folded Q into P's Conv
    shows Q's output under P's name."""
    points: dict[str, str] = {}
    for p in all_points(model):
        if p.kind == "output" and (p.value not in points or _deeper(p.path, points[p.value])):
            points[p.value] = p.path
    result = {}
    for node in model.graph.node:
        if node.op_type != BATCH_NORM or node.domain not in ("", "ai.onnx"):
            continue
        chain = _module_chain(node)
        if chain and node.input and node.input[0] in points:
            result[points[node.input[0]]] = chain[-1]
    return result


def module_paths(model: onnx.ModelProto) -> set[str]:
    """Every module path some node of ``model`` belongs to."""
    return {path for node in model.graph.node for path in _module_chain(node)}


def mark_outputs(model: onnx.ModelProto, values: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` with ``values`` added as graph outputs (untyped; ONNX
    Runtime infers the types). Values already graph outputs are not added twice."""
    marked = onnx.ModelProto()
    marked.CopyFrom(model)
    present = {o.name for o in marked.graph.output}
    for name in values:
        if name not in present:
            marked.graph.output.append(onnx.ValueInfoProto(name=name))
            present.add(name)
    return marked


def slice_channels(array: np.ndarray, channels: Channels) -> np.ndarray:
    """``array[:, start:stop]`` for a channel slice, ``array`` itself for None."""
    if channels is None or array.ndim < 2:
        return array
    return array[:, channels[0] : channels[1]]


#: Loads a model on a runner, e.g. :class:`~linkedonnx.runners.reference_runner.ReferenceEvaluatorRunner`.
Loader = Callable[[onnx.ModelProto], Runner]


def capture(
    model: onnx.ModelProto,
    points: list[Point],
    feeds: dict[str, np.ndarray],
    provider: str = "cpu",
    optimization: str = "all",
    load: Loader | None = None,
) -> dict[Point, np.ndarray]:
    """Run ``model`` with every point's value marked as an output and return point ->
    array (channel slices applied): on ``provider``'s runner at graph ``optimization``
    level, or on the runner ``load`` makes (e.g. the ONNX reference evaluator). Raises
    BadInputError when the runner cannot load the marked model."""
    from linkedonnx.runners.providers import get_provider

    names = list(dict.fromkeys(p.value for p in points))
    marked = mark_outputs(model, names)
    if load is None:
        runner = get_provider(provider).load(marked, optimization=optimization)
    else:
        runner = load(marked)
    wanted = set(runner.input_names)
    results = runner.run({k: v for k, v in feeds.items() if k in wanted}, names)
    by_name = dict(zip(names, results, strict=True))
    return {p: slice_channels(np.asarray(by_name[p.value]), p.channels) for p in points}
