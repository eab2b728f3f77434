"""Empirical bias correction of a QDQ model (no torch here).

Quantizing weights and inputs shifts the mean of a layer's output: rounding errors that
do not average out over a channel. For every Conv and Gemm whose bias is an int32
``DequantizeLinear`` initializer (as ONNX Runtime's QDQ quantizer writes it) and whose
output tensor also exists in the float model, the per-channel mean of that output is
measured on the calibration batches in both models (ONNX Runtime, CPU) and the bias is
moved by the difference (float mean - quantized mean), in int32 steps of the bias scale.
Layers are corrected in graph order, each measured with the layers before it already
corrected, so a layer also absorbs the mean error it inherits from above (the
"empirical bias correction" of Nagel et al. 2019; NNCF's fast bias correction measures
each layer alone, on its float input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from linkedonnx.errors import BadInputError

#: Ops corrected, with the axis of their output channels (the bias' axis).
CHANNEL_AXIS = {"Conv": 1, "Gemm": -1}


@dataclass
class BiasSite:
    """One correctable layer: its output tensor, the float model's tensor it must match
    (``reference``), the channel axis and the int32 bias initializer with its scale."""

    output: str
    reference: str
    axis: int
    bias: str
    scale: str


@dataclass
class BiasCorrection:
    """What :func:`correct_biases` did: per corrected output tensor, the mean |shift|
    applied relative to the mean |bias| before (``relative``), and the layers skipped."""

    corrected: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def bias_sites(quantized: onnx.ModelProto, float_model: onnx.ModelProto) -> list[BiasSite]:
    """The Conv/Gemm layers of the QDQ ``quantized`` model whose bias is an int32
    initializer behind a DequantizeLinear and whose output the float model also has,
    in graph order. Where ONNX Runtime dropped a Relu after the layer (its output
    quantizer clamps instead) and gave the layer the Relu's output name, the float
    tensor matched is the Relu's input."""
    consts = {init.name: init for init in quantized.graph.initializer}
    producer = {out: node for node in quantized.graph.node for out in node.output}
    float_producer = {out: node for node in float_model.graph.node for out in node.output}
    sites = []
    for node in quantized.graph.node:
        if node.op_type not in CHANNEL_AXIS or len(node.input) < 3 or not node.input[2]:
            continue
        dq = producer.get(node.input[2])
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        stored = consts.get(dq.input[0])
        if stored is None or stored.data_type != TensorProto.INT32 or dq.input[1] not in consts:
            continue
        reference = _float_twin(node, float_producer)
        if reference is None:
            continue
        axis = CHANNEL_AXIS[node.op_type]
        sites.append(BiasSite(node.output[0], reference, axis, dq.input[0], dq.input[1]))
    return sites


def _float_twin(node: onnx.NodeProto, float_producer: dict[str, onnx.NodeProto]) -> str | None:
    """The float model's tensor made by the same op as ``node``'s output, or None."""
    made = float_producer.get(node.output[0])
    if made is not None and made.op_type == "Relu":
        made = float_producer.get(made.input[0])
    return made.output[0] if made is not None and made.op_type == node.op_type else None


def channel_means(
    model: onnx.ModelProto,
    names: Sequence[str],
    axes: Sequence[int],
    batches: Sequence[dict[str, np.ndarray]],
) -> list[np.ndarray]:
    """Per-channel means (float64) of the tensors ``names`` of ``model`` over all
    ``batches``, the channel of each on the matching entry of ``axes``, computed with
    ONNX Runtime on the CPU. Raises BadInputError when there is no batch."""
    from linkedonnx.runtime.dead_units import expose_outputs
    from linkedonnx.runtime.session import make_session

    if not batches:
        raise BadInputError("bias correction needs at least one calibration batch")
    session = make_session(expose_outputs(model, list(names)), "cpu")
    sums: list[np.ndarray | None] = [None] * len(names)
    counts = [0] * len(names)
    for batch in batches:
        values = session.run(list(names), dict(batch))
        for i, (value, axis) in enumerate(zip(values, axes, strict=True)):
            moved = np.moveaxis(np.asarray(value, np.float64), axis, 0)
            flat = moved.reshape(moved.shape[0], -1)
            sums[i] = flat.sum(1) if sums[i] is None else sums[i] + flat.sum(1)
            counts[i] += flat.shape[1]
    return [total / count for total, count in zip(sums, counts, strict=True)]


def correct_biases(
    float_model: onnx.ModelProto,
    quantized: onnx.ModelProto,
    batches: Sequence[dict[str, np.ndarray]],
) -> tuple[onnx.ModelProto, BiasCorrection]:
    """Move the int32 biases of ``quantized`` (a QDQ model of ``float_model``) so that
    each corrected layer's per-channel output mean on ``batches`` matches the float
    model's; layers in graph order, each measured after the ones before it were
    corrected. Returns (a corrected copy, what was done). Raises BadInputError when
    there is no batch."""
    sites = bias_sites(quantized, float_model)
    out = onnx.ModelProto()
    out.CopyFrom(quantized)
    report = BiasCorrection()
    if not sites:
        return out, report
    targets = channel_means(
        float_model, [s.reference for s in sites], [s.axis for s in sites], batches
    )
    inits = {init.name: init for init in out.graph.initializer}
    for site, target in zip(sites, targets, strict=True):
        (current,) = channel_means(out, [site.output], [site.axis], batches)
        bias = numpy_helper.to_array(inits[site.bias]).astype(np.int64)
        scale = numpy_helper.to_array(inits[site.scale]).astype(np.float64)
        if bias.shape != target.shape or not np.all(np.isfinite(target - current)):
            report.skipped.append(site.output)
            continue
        steps = np.round((target - current) / scale).astype(np.int64)
        info = np.iinfo(np.int32)
        moved = np.clip(bias + steps, info.min, info.max).astype(np.int32)
        inits[site.bias].CopyFrom(numpy_helper.from_array(moved, site.bias))
        before = float(np.mean(np.abs(bias * scale))) or 1.0
        report.corrected[site.output] = float(np.mean(np.abs(steps * scale)) / before)
    return out, report
