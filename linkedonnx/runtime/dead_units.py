"""Dead units of an ONNX model, counted in ONNX Runtime (no torch here).

The activation outputs are found in the graph: calls of the linked functions in the
``linkedonnx`` domain (units along their ``axis`` attribute: both halves count) and the
plain single activations: LeakyRelu, Elu, Swish and each registered kind's activation as
spelled in standard ops (:data:`linkedonnx.kinds.HALF_TREES`: Relu, PRelu, Selu,
Mul(x, Sigmoid(x)) ...; units along axis 1). A unit is dead by its kind's dead-unit rule
(every registered kind: exactly zero). Those outputs are exposed as extra graph outputs, the model runs
on the given batches, and a unit is dead when it is zero at every position of every
sample (see :mod:`linkedonnx.dead_unit_report`).

A linked activation exported flat (Relu, Neg, Relu, Concat) shows up as plain halves;
run the ``convert`` recognition passes first to count it as one linked layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import onnx

from linkedonnx import DOMAIN
from linkedonnx.dead_unit_report import (
    AliveTracker,
    DeadUnitReport,
    alive_channels,
    alive_elements,
    peak_magnitude,
)
from linkedonnx.errors import BadInputError
from linkedonnx.kinds import BY_OP_TYPE, HALF_TREES
from linkedonnx.kinds.spelling import ProtoView, match
from linkedonnx.runners.providers import get_provider, load_runner

#: Plain activation ops that are no registered kind's (generic linked modules, contrib).
PLAIN_OPS = {
    "LeakyRelu": "leaky-relu",
    "Elu": "elu",
    "Swish": "swish",
}


@dataclass(frozen=True)
class ActivationSite:
    """An activation output in the graph: its value name, layer name, kind and unit axis."""

    output: str
    name: str
    kind: str
    axis: int


def _axis(node: onnx.NodeProto) -> int:
    for attr in node.attribute:
        if attr.name == "axis":
            return int(attr.i)
    return 1


def _linked_kind(op_type: str) -> str:
    return f"lk-{BY_OP_TYPE[op_type].zoo_name}"


def _plain_kind(node: onnx.NodeProto, view: ProtoView) -> str | None:
    """The zoo name of the registered kind whose activation ``node`` computes (as the
    root of one of :data:`linkedonnx.kinds.HALF_TREES`), or None."""
    if len(node.output) != 1:
        return None
    for kind, tree in HALF_TREES:
        if tree.op_type == node.op_type and match(tree, node.output[0], view) is not None:
            return kind.zoo_name
    return None


#: Node metadata in which torch's exporter records the module path of each node.
NAME_SCOPES_KEY = "pkg.torch.onnx.name_scopes"


def layer_name(node: onnx.NodeProto) -> str | None:
    """The module a torch export's ``node`` came from (``conv50.1``: the innermost of
    its recorded name scopes, the last scope being the node's own), as a checkpoint's
    layers are named; None when the node records no module."""
    text = next((p.value for p in node.metadata_props if p.key == NAME_SCOPES_KEY), None)
    if text is None:
        return None
    try:
        scopes = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if not isinstance(scopes, list):
        return None
    modules = [scope for scope in scopes[1:-1] if isinstance(scope, str) and scope]
    return modules[-1] if modules else None


def find_activations(model: onnx.ModelProto) -> list[ActivationSite]:
    """Return the activation outputs of ``model``'s main graph, in node order."""
    graph = model.graph
    view = ProtoView(graph)
    sites = []
    for i, node in enumerate(graph.node):
        name = layer_name(node) or node.name or f"{node.op_type}_{i}"
        if node.domain == DOMAIN and node.op_type in BY_OP_TYPE:
            sites.append(
                ActivationSite(node.output[0], name, _linked_kind(node.op_type), _axis(node))
            )
        elif node.domain in ("", "ai.onnx") and node.op_type in PLAIN_OPS:
            sites.append(ActivationSite(node.output[0], name, PLAIN_OPS[node.op_type], 1))
        elif node.domain in ("", "ai.onnx") and (kind := _plain_kind(node, view)) is not None:
            sites.append(ActivationSite(node.output[0], name, kind, 1))
    return sites


def expose_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """Return a copy of ``model`` with the values ``names`` added as graph outputs
    (typed by shape inference; float of unknown shape when inference cannot tell)."""
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    existing = {o.name for o in exposed.graph.output}
    inferred_info: dict[str, onnx.ValueInfoProto] = {}
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
        inferred_info = {vi.name: vi for vi in inferred.graph.value_info}
    except Exception:  # inference is only a hint for the output types
        pass
    for name in names:
        if name in existing:
            continue
        info = inferred_info.get(name)
        if info is not None and info.type.tensor_type.elem_type:
            exposed.graph.output.append(info)
        else:
            exposed.graph.output.append(
                onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
            )
        existing.add(name)
    return exposed


def data_input_name(model: onnx.ModelProto) -> str:
    """The name of the model's single data input (graph inputs that are not initializers).

    Raises BadInputError when there is not exactly one.
    """
    inits = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise BadInputError(f"expected a model with one data input, found {len(inputs)}")
    return inputs[0]


def count_dead_units_onnx(
    model: onnx.ModelProto,
    batches: Iterable[np.ndarray],
    *,
    provider: str = "cpu",
    source: str = "model.onnx",
) -> DeadUnitReport:
    """Run ``model`` on ``provider`` (ONNX Runtime's cpu or cuda, or openvino) on each float32 NCHW batch and return the per-layer
    dead units. Raises BadInputError when the model has no activation or ORT refuses it."""
    sites = find_activations(model)
    if not sites:
        raise BadInputError(f"{source}: no activation layers found in the graph")
    exposed = expose_outputs(model, [s.output for s in sites])
    runtime = get_provider(provider).runtime
    runner = load_runner(
        provider, exposed, optimization="basic" if runtime == "onnxruntime" else "all"
    )
    feed_name = data_input_name(model)
    names = [s.output for s in sites]
    tracker = AliveTracker()
    samples = 0
    for batch in batches:
        values = runner.run({feed_name: np.ascontiguousarray(batch, dtype=np.float32)}, names)
        for site, value in zip(sites, values, strict=True):
            tracker.update(
                site.name,
                site.kind,
                alive_channels(value, site.axis),
                peak_magnitude(value),
                alive_elements(value),
            )
        samples += int(batch.shape[0])
    return DeadUnitReport(source=source, samples=samples, layers=tracker.layers())
