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
split 10% slower than NNCF's INT8 at batch 1 and 32, inline level with it.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

#: Providers whose quantized file gets a form of its own without --tune.
FORMS: dict[str, str] = {"openvino": "inline"}


def default_form(provider: str) -> str | None:
    """The lowering form written for ``provider`` without ``--tune`` (takes a provider
    name); returns 'inline' for openvino, None (optimize's CPU table) otherwise."""
    return FORMS.get(provider)


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
