"""Every registered linked kind, on the torch side: its torch module computes what its
ONNX function computes, export writes one call of that function, the zoo builds it,
linkify maps its torch activations to it (function preserved), and the dead-unit hooks
find it. Parametrized over the registry, so a new kind is tested here without edits."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from linkedonnx.export import export_model  # noqa: E402
from linkedonnx.export.shims import function_kind  # noqa: E402
from linkedonnx.kinds import KINDS  # noqa: E402
from linkedonnx.linkify import linkify  # noqa: E402
from linkedonnx.nn import LinkedActivation  # noqa: E402
from linkedonnx.train.dead_units import activation_layers  # noqa: E402
from linkedonnx.zoo import build  # noqa: E402
from tests.passes.graphs import run  # noqa: E402

NAMES = list(KINDS)


def tiny(activation: nn.Module) -> nn.Module:
    """Conv(3->4) -> activation -> Conv(-> 5), in eval mode (the second conv reads 8
    channels when the activation is linked)."""
    torch.manual_seed(0)
    linked = isinstance(activation, LinkedActivation)
    return nn.Sequential(nn.Conv2d(3, 4, 3), activation, nn.Conv2d(8 if linked else 4, 5, 1)).eval()


@pytest.mark.parametrize("name", NAMES)
def test_export_writes_one_call_computing_the_torch_forward(name: str) -> None:
    module = tiny(KINDS[name].torch_linked(1, None, 4))
    assert function_kind(module[1]) == name
    result = export_model(module, (1, 3, 6, 6), batch=2)
    assert result.calls == {KINDS[name].op_type: 1}
    x = torch.randn(3, 3, 6, 6)
    with torch.no_grad():
        expected = module(x).numpy()
    (got,) = run(result.model, {"input": x.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_the_zoo_builds_it_and_the_hooks_find_it(name: str) -> None:
    kind = KINDS[name]
    policy = f"-{kind.zoo_policy}" if kind.zoo_policy else ""
    model = build(f"allcnn/lk-{kind.zoo_name}{policy}")
    linked = [m for m in model.modules() if isinstance(m, LinkedActivation)]
    assert linked and all(function_kind(m) == name for m in linked)
    kinds = {k for _, _, k, _ in activation_layers(model)}
    assert kinds == {f"lk-{kind.zoo_name}"}
    single = build(f"allcnn/{kind.zoo_name}")
    assert {k for _, _, k, _ in activation_layers(single)} == {kind.zoo_name}


@pytest.mark.parametrize("name", NAMES)
def test_linkify_maps_its_torch_activations_to_it(name: str) -> None:
    kind = KINDS[name]
    sources = next(
        k.torch_sources for k in KINDS.values() if k.zoo_name == kind.zoo_name and k.torch_sources
    )
    modules, _ = sources()
    original = tiny(modules[0]())
    x = torch.randn(2, 3, 6, 6)
    linked, report = linkify(original, kind.linkify_name, example_input=x)
    found = [m for m in linked.modules() if isinstance(m, LinkedActivation)]
    assert len(found) == 1 and function_kind(found[0]) == name, report
    with torch.no_grad():  # the first half is the original activation: function preserved
        torch.testing.assert_close(linked(x), original(x), atol=1e-5, rtol=1e-5)


class _Functional(nn.Module):
    """Conv(3->4) -> fn -> Conv(4->5): an activation called as a function."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn
        self.a, self.b = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 5, 1)

    def forward(self, x):
        return self.b(self.fn(self.a(x)))


FUNCTION_SOURCES = [
    (k.zoo_name, fn)
    for k in KINDS.values()
    if k.torch_sources is not None
    for fn in k.torch_sources()[1]
    if not isinstance(fn, str)
]


@pytest.mark.parametrize(
    ("zoo_name", "fn"), FUNCTION_SOURCES, ids=lambda v: getattr(v, "__name__", v)
)
def test_linkify_maps_its_torch_functions_to_it(zoo_name: str, fn) -> None:
    name = next(n for n, k in KINDS.items() if k.zoo_name == zoo_name and not k.zoo_policy)
    torch.manual_seed(0)
    original = _Functional(fn).eval()
    linked, report = linkify(
        original, KINDS[name].linkify_name, example_input=torch.randn(2, 3, 6, 6)
    )
    found = [m for m in linked.modules() if isinstance(m, LinkedActivation)]
    assert len(found) == 1 and function_kind(found[0]) == name, report
