"""The INT8 form written for OpenVINO: linked pairs as ``Relu(z)``, ``Relu(-z)`` with one
scale and zero point 0, so that every convolution reads a zero-point-free u8 tensor (no
torch here).

OpenVINO's CPU plugin turns QDQ pairs into FakeQuantize and runs a convolution in 8
bits (oneDNN ``brgconv_*_I8``) wherever its input and weights are quantized. A u8 input
with a zero point costs it a zero-point compensation in every such convolution. The
split form's 8-bit concat ``[relu(z), z]`` holds a signed ``z``, so it is asymmetric
(zero point near 128); the inline form's ``[relu(z), relu(-z)]`` is non-negative, so
ORT's quantizer gives both halves (one shared range) zero point 0 -- the placement NNCF
writes for OpenVINO (unified scales on concat inputs, u8 after ReLU-like ops). Measured
on AllCNN-C (issue 25, contended 2-CPU machine, CPU time per inference interleaved):
split 10% slower than NNCF's INT8 at batch 1 and 32, inline level with it, and inline
with its concat's zero point moved to 100 as slow as split.

ORT's quantizer also quantizes the convolution's output ``z`` (asymmetric) before the
halves' Relu/Neg, so each half is rounded twice; :func:`keep_pair_inputs_float` drops
that pair (OpenVINO computes the halves from the conv's float output in one fused
subgraph, as in NNCF's placement), which brings the logits back to the split form's
error (trained AllCNN-C: mean |logit error| / std 0.0049 against 0.0069 with it).
:func:`slice_before_strided_pointwise` moves the stride of 1x1 stride-2 convolutions
(ResNet's downsampling blocks) into a Slice of their 8-bit input: left to OpenVINO, it
becomes a pooling between DequantizeLinear and the convolutions, which then run in bf16
or f32 with weights dequantized at every inference.

:func:`stacked_sites` picks, per linked site, the stacked form (the producer Conv with
weights ``[W; -W]``, its u8 output fusing ReLU: no halves, no Concat) where the producer's
reduction (input channels per group x kernel area) is at most :data:`STACK_REDUCTION`,
and inline elsewhere. The halves and their 8-bit Concat cost memory traffic in
proportion to the site's channels; stacking costs the producer's arithmetic again.
Measured per layer on OpenVINO's CPU plugin (issue 25, contended 2-CPU AVX-512 VNNI
machine, PERF_COUNT minima, ``zoo:resnet/lk-relu`` 32x32 at batch 32): a 1x1 producer
of reduction 8-128 stacked took 0.02-0.34 ms against 0.03-0.62 ms for conv + halves +
Concat, 3x3 producers of reduction 288-576 0.06-1.48 ms against 0.06-1.26 ms (a loss at
batch 32); AllCNN-C's producers (reduction 384-3456, except the first conv's 27) ran
1.75x slower all stacked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import numpy_helper

from linkedonnx.quantize.linked_groups import tensor_readers

if TYPE_CHECKING:
    import onnx_ir as ir

#: The OpenVINO mix: stacked where the producer is light (:func:`stacked_sites`),
#: inline elsewhere.
MIXED = "stacked-light"
#: Providers whose quantized file gets a form of its own without --tune.
FORMS: dict[str, str] = {"openvino": MIXED}


def default_form(provider: str) -> str | None:
    """The lowering form written for ``provider`` without ``--tune`` (takes a provider
    name); returns :data:`MIXED` for openvino, None (optimize's CPU table) otherwise."""
    return FORMS.get(provider)


#: The largest producer reduction (input channels per group x kernel area) whose linked
#: site is stacked for OpenVINO (see the module docstring for the measurement).
STACK_REDUCTION = 128


def stacked_sites(model: ir.Model, limit: int = STACK_REDUCTION) -> dict[str, str]:
    """Takes a prepared IR model (linked function nodes not yet lowered); returns site id
    (:func:`linkedonnx.passes.lower_linked.site_id`) -> 'stacked' for each linked site
    whose input comes from a Conv with a constant weight of reduction at most ``limit``
    (the lowering falls back to inline where stacking does not apply)."""
    from linkedonnx.passes.graph_utils import const_array
    from linkedonnx.passes.lower_linked import site_id
    from linkedonnx.passes.lowering import is_linked

    chosen: dict[str, str] = {}
    for node in model.graph:
        if not is_linked(node) or not node.inputs:
            continue
        producer = node.inputs[0].producer() if node.inputs[0] is not None else None
        if producer is None or producer.op_type != "Conv" or len(producer.inputs) < 2:
            continue
        weight = const_array(producer.inputs[1])
        if weight is not None and weight.ndim >= 3 and int(np.prod(weight.shape[1:])) <= limit:
            chosen[site_id(node)] = "stacked"
    return chosen


def _ends_in_quantize(node: onnx.NodeProto, readers: dict[str, list[onnx.NodeProto]]) -> bool:
    """``node`` is a Relu read only by QuantizeLinear, or a Neg read only by such a Relu."""
    after = readers.get(node.output[0], [])
    if node.op_type == "Neg":
        return bool(after) and all(
            n.op_type == "Relu" and _ends_in_quantize(n, readers) for n in after
        )
    return (
        node.op_type == "Relu" and bool(after) and all(n.op_type == "QuantizeLinear" for n in after)
    )


def keep_pair_inputs_float(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """Takes a QDQ model; returns a copy without the QuantizeLinear -> DequantizeLinear
    pairs on Conv outputs that are read only by linked halves (``Relu -> Q`` or ``Neg ->
    Relu -> Q``), the halves reading the Conv's output directly, and how many pairs went."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    readers = tensor_readers(out.graph)
    producer = {o: n for n in out.graph.node for o in n.output}
    graph_outputs = {o.name for o in out.graph.output}
    drop: set[int] = set()
    rename: dict[str, str] = {}
    for q in out.graph.node:
        source = producer.get(q.input[0]) if q.op_type == "QuantizeLinear" else None
        if source is None or source.op_type != "Conv":
            continue
        dqs = readers.get(q.output[0], [])
        if len(dqs) != 1 or dqs[0].op_type != "DequantizeLinear" or q.output[0] in graph_outputs:
            continue
        halves = readers.get(dqs[0].output[0], [])
        if dqs[0].output[0] in graph_outputs or not halves:
            continue
        if all(_ends_in_quantize(h, readers) for h in halves):
            drop |= {id(q), id(dqs[0])}
            rename[dqs[0].output[0]] = q.input[0]
    kept = [n for n in out.graph.node if id(n) not in drop]
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = rename.get(name, name)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    used = {name for node in kept for name in node.input} | graph_outputs
    unused = [i for i in out.graph.initializer if i.name not in used]
    for init in unused:  # the dropped pairs' scales and zero points
        out.graph.initializer.remove(init)
    return out, len(rename)


def _strided_pointwise(node: onnx.NodeProto) -> tuple[int, ...] | None:
    """The strides of a Conv with a 1x1... kernel, strides above 1, no padding and no
    dilation, else None."""
    if node.op_type != "Conv" or node.domain not in ("", "ai.onnx"):
        return None
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    kernel = list(attrs.get("kernel_shape", []))
    strides = tuple(attrs.get("strides", [1] * len(kernel)))
    pads, dilations = attrs.get("pads", []), attrs.get("dilations", [])
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    if not kernel or any(k != 1 for k in kernel) or all(s == 1 for s in strides):
        return None
    if any(pads) or any(d != 1 for d in dilations) or auto_pad not in (b"NOTSET", b"VALID"):
        return None
    return strides


def slice_before_strided_pointwise(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """Takes a QDQ model; returns a copy where each DequantizeLinear read only by 1x1
    convolutions of one stride above 1 (no padding) reads a Slice of its 8-bit tensor
    with those steps instead, the convolutions at stride 1 (the same values), and how
    many Slices it added.

    OpenVINO's CPU plugin otherwise moves such a stride into a pooling it inserts between
    the DequantizeLinear and the convolutions, which then run in float with their
    weights dequantized at every inference (6 of ResNet's 53 convolutions, issue 25)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    readers = tensor_readers(out.graph)
    produced = {o for n in graph.node for o in n.output}
    graph_outputs = {o.name for o in graph.output}
    taken = {i.name for i in graph.initializer} | produced | {i.name for i in graph.input}
    nodes: list[onnx.NodeProto] = []
    rerouted: set[int] = set()
    added = 0
    for node in list(graph.node):
        nodes.append(node)
        if node.op_type != "DequantizeLinear" or node.output[0] in graph_outputs:
            continue
        if node.input[0] not in produced:  # a weight: constant-folded anyway
            continue
        convs = readers.get(node.output[0], [])
        strides = {_strided_pointwise(c) for c in convs}
        if not convs or len(strides) != 1 or None in strides:
            continue
        (step,) = strides
        assert step is not None
        base = f"{node.output[0]}_stride"
        while any(f"{base}_{s}" in taken for s in ("starts", "ends", "axes", "steps", "q", "dq")):
            base += "_"
        rank = len(step)
        for suffix, values in (
            ("starts", [0] * rank),
            ("ends", [np.iinfo(np.int64).max] * rank),
            ("axes", list(range(2, 2 + rank))),
            ("steps", list(step)),
        ):
            graph.initializer.append(
                numpy_helper.from_array(np.array(values, np.int64), f"{base}_{suffix}")
            )
        sliced = onnx.helper.make_node(
            "Slice",
            [node.input[0], *(f"{base}_{s}" for s in ("starts", "ends", "axes", "steps"))],
            [f"{base}_q"],
            name=f"{base}_slice",
        )
        dequantized = onnx.helper.make_node(
            "DequantizeLinear", [f"{base}_q", *node.input[1:]], [f"{base}_dq"], name=f"{base}_dq"
        )
        dequantized.attribute.extend(node.attribute)  # axis, where per-axis
        nodes += [sliced, dequantized]
        for conv in convs:
            conv.input[0] = f"{base}_dq"
            for attr in conv.attribute:
                if attr.name == "strides":
                    attr.ints[:] = [1] * rank
        rerouted.add(id(node))
        added += 1
    kept = [n for n in nodes if id(n) not in rerouted]  # their readers moved
    del graph.node[:]
    graph.node.extend(kept)
    return out, added


def for_openvino(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
    """Takes a linked-aware QDQ model; returns it placed for OpenVINO
    (:func:`keep_pair_inputs_float`, :func:`slice_before_strided_pointwise`) and the
    layout counts to report."""
    placed, dropped = keep_pair_inputs_float(model)
    placed, sliced = slice_before_strided_pointwise(placed)
    counts = {"conv output kept float for OpenVINO": dropped, "stride as an 8-bit Slice": sliced}
    return placed, {k: v for k, v in counts.items() if v}


def asymmetric_conv_inputs(model: onnx.ModelProto) -> list[str]:
    """Takes a QDQ model; returns the names (or outputs, where unnamed) of the Conv
    nodes whose activation input comes from a DequantizeLinear with a non-zero zero
    point, skipping convolutions that read a graph input's quantization (the image's
    range is what it is)."""
    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    graph_inputs = {i.name for i in model.graph.input}
    found = []
    for node in model.graph.node:
        if node.op_type != "Conv" or not node.input:
            continue
        dq = producer.get(node.input[0])
        if dq is None or dq.op_type != "DequantizeLinear" or len(dq.input) < 3:
            continue
        q = producer.get(dq.input[0])
        if q is not None and q.op_type == "QuantizeLinear" and q.input[0] in graph_inputs:
            continue
        zero = consts.get(dq.input[2])
        if zero is not None and np.any(zero != 0):
            found.append(node.name or node.output[0])
    return found


def openvino_notes(model: onnx.ModelProto) -> list[str]:
    """Takes the QDQ model written for OpenVINO; returns the report's notes on it (how
    many convolutions still read a u8 input with a zero point)."""
    left = asymmetric_conv_inputs(model)
    if not left:
        return ["OpenVINO: every convolution after the first reads u8 with zero point 0"]
    return [f"OpenVINO: {len(left)} convolution(s) read u8 with a zero point ({left[0]}...)"]
