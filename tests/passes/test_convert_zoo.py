"""convert on real exports of zoo models: torch's plain ``torch.onnx.export(dynamo=True)``
(the flat spelling) becomes function form with one linked node per linked activation,
and ``linkedonnx.export`` output passes through; outputs match in ONNX Runtime.

The same check over every zoo model (all 130 names, about 10 minutes) is a sweep run by
hand, not a CI test: ``python tests/passes/test_convert_zoo.py`` (exit 1 on a mismatch)."""

from __future__ import annotations

import logging
import warnings

import onnx
import pytest
import torch
from graphs import assert_same_outputs, count_linked

from linkedonnx import zoo
from linkedonnx.export import export_model
from linkedonnx.nn import LinkedReLU
from linkedonnx.nn.modules import LinkedActivation
from linkedonnx.passes.convert import convert, rule_counts
from linkedonnx.zoo.spec import ModelSpec

#: One model per linked activation (small images keep it quick). The 51-layer depth
#: family is left to the full sweep (see the module docstring).
FLAT_CASES = {
    "allcnn/lk-relu": "LinkedRelu",
    "width/lk-relu-minmax": "LinkedReluMinMax",
    "params/lk-prelu-bn": "LinkedPRelu",
    "resnet/lk-selu-nobn": "LinkedSelu",
    "width/lk-swish": "LinkedSwish",
}

pytestmark = pytest.mark.slow


def _plain_export(module: torch.nn.Module, spec: ModelSpec) -> onnx.ModelProto:
    warnings.filterwarnings("ignore")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with torch.no_grad():
        program = torch.onnx.export(
            module, (torch.randn(*spec.input_shape(2)),), dynamo=True, verbose=False
        )
    return program.model_proto


def _linked_count(module: torch.nn.Module) -> int:
    return sum(isinstance(m, LinkedActivation) for m in module.modules())


@pytest.mark.parametrize("name", sorted(FLAT_CASES))
def test_plain_torch_export_becomes_function_form(name: str) -> None:
    spec = ModelSpec(name, image_size=8)
    module = zoo.build(spec).eval()
    flat = _plain_export(module, spec)
    assert count_linked(flat) == {}
    after, report = convert(flat)
    onnx.checker.check_model(after, full_check=True)
    expected = _linked_count(module)
    assert expected > 0
    assert count_linked(after) == {FLAT_CASES[name]: expected}
    assert sum(v for k, v in rule_counts(report).items() if k.startswith("Linked")) == expected
    assert_same_outputs(flat, after, exact=True)


@pytest.mark.parametrize("policy", ["mirror", "minmax"])
def test_dynamic_batch_export_is_recognized(policy: str) -> None:
    # A dynamic batch must not stop recognition (zeros_like would be Expand(0, Shape(z))
    # at run time; that spelling is covered by tests/passes/graphs.py "relu-where-expand").
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), LinkedReLU(policy=policy), torch.nn.Conv2d(8, 2, 1)
    ).eval()
    warnings.filterwarnings("ignore")
    with torch.no_grad():
        flat = torch.onnx.export(
            module,
            (torch.randn(2, 3, 6, 6),),
            dynamo=True,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        ).model_proto
    after, _ = convert(flat)
    onnx.checker.check_model(after, full_check=True)
    assert count_linked(after) == {"LinkedRelu" if policy == "mirror" else "LinkedReluMinMax": 1}
    assert_same_outputs(flat, after, exact=True)


def test_plain_model_export_is_left_alone() -> None:
    spec = ModelSpec("width/relu", image_size=8)
    flat = _plain_export(zoo.build(spec).eval(), spec)
    after, report = convert(flat)
    assert count_linked(after) == {}
    assert not [k for k in rule_counts(report) if k.startswith("Linked")]
    assert_same_outputs(flat, after, exact=True)


def test_linkedonnx_export_passes_through() -> None:
    spec = ModelSpec("width/lk-prelu", image_size=8)
    module = zoo.build(spec).eval()
    exported = export_model(module, spec, batch=2).model
    after, report = convert(exported)
    onnx.checker.check_model(after, full_check=True)
    assert count_linked(after) == count_linked(exported)
    assert sum(count_linked(after).values()) == _linked_count(module)
    assert not [k for k in rule_counts(report) if k.startswith("Linked")]
    assert_same_outputs(exported, after, exact=True)


def sweep(names: list[str] | None = None) -> int:
    """Check convert on the plain export of every zoo model (or ``names``); print one
    line each and return the number of mismatches (count of linked nodes or outputs)."""
    import numpy as np
    from graphs import random_feeds, run

    torch.set_num_threads(1)
    bad = 0
    for name in names or zoo.names():
        spec = ModelSpec(name, image_size=8)
        module = zoo.build(spec).eval()
        flat = _plain_export(module, spec)
        after, _ = convert(flat)
        onnx.checker.check_model(after, full_check=True)
        feeds = random_feeds(flat)
        exact = all(
            np.array_equal(a, b) for a, b in zip(run(flat, feeds), run(after, feeds), strict=True)
        )
        ok = exact and sum(count_linked(after).values()) == _linked_count(module)
        bad += not ok
        print(
            f"{name:28s} {_linked_count(module):3d} {count_linked(after)} {'ok' if ok else 'MISMATCH'}"
        )
    print(f"{bad} mismatches")
    return bad


if __name__ == "__main__":
    import sys

    sys.exit(1 if sweep(sys.argv[1:] or None) else 0)
