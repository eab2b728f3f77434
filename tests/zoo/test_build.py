"""Zoo models: every name builds and runs, geometry is a parameter, the forms differ
where the paper says (linked activations, widths), BN switches, determinism."""

from __future__ import annotations

import pytest
import torch
from torch import fx, nn

from linkedonnx.errors import BadInputError
from linkedonnx.nn import (
    KindActivation,
    LinkedActivation,
    LinkedPReLU,
    LinkedReLU,
    LinkedSELU,
    LinkedSwish,
    Swish,
)
from linkedonnx.zoo import FAMILIES, ModelSpec, build, names, parse_name
from linkedonnx.zoo.resnet import Bottleneck
from linkedonnx.zoo.stats import count_parameters

PLAIN = {"relu": nn.ReLU, "prelu": nn.PReLU, "selu": nn.SELU, "swish": Swish}
LINKED = {"relu": LinkedReLU, "prelu": LinkedPReLU, "selu": LinkedSELU, "swish": LinkedSwish}
PLAIN["gelu"], LINKED["gelu"] = nn.GELU, KindActivation  # LK-GELU: the registry's module
ACTIVATION_TYPES = (*PLAIN.values(), LinkedActivation)

#: Hidden (activated) layers and conv layers of each family, from the paper.
HIDDEN_LAYERS = {"width": 1, "depth": 51, "params": 5, "allcnn": 8}
CONV_LAYERS = {"width": 1, "depth": 51, "params": 4, "allcnn": 9, "resnet": 1 + 16 * 3 + 4}


def _meta(name: str) -> nn.Module:
    with torch.device("meta"):
        return build(name)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_model_builds_and_runs_forward(family: str) -> None:
    for name in names(family):
        for spec in (
            ModelSpec(name),
            ModelSpec(name, in_channels=1, image_size=8, num_classes=4),
        ):
            model = build(spec).eval()
            with torch.no_grad():
                logits = model(torch.randn(spec.input_shape(2)))
            assert logits.shape == (2, spec.num_classes), name
            assert logits.dtype == torch.float32
            assert torch.isfinite(logits).all(), name
            assert not any(isinstance(m, nn.Softmax | nn.LogSoftmax) for m in model.modules())


@pytest.mark.parametrize("family", FAMILIES)
def test_image_sizes_8_to_32(family: str) -> None:
    for name in (f"{family}/lk-relu", f"{family}/ext-prelu"):
        for size in (8, 9, 10, 11, 15, 24, 31):
            spec = ModelSpec(name, in_channels=2, image_size=size, num_classes=3)
            model = build(spec).eval()
            with torch.no_grad():
                assert model(torch.randn(spec.input_shape(1))).shape == (1, 3), (name, size)


def test_build_accepts_a_name_with_default_geometry() -> None:
    model = build("width/lk-relu")
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 3, 16, 16))  # the dense layer is sized for 32×32


def test_build_is_deterministic_under_manual_seed() -> None:
    torch.manual_seed(123)
    first = build("params/lk-prelu").state_dict()
    torch.manual_seed(123)
    second = build("params/lk-prelu").state_dict()
    torch.manual_seed(124)
    third = build("params/lk-prelu").state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["conv1a.0.weight"], third["conv1a.0.weight"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ModelSpec("allcnn/lk-rleu"), "unknown model name"),
        (ModelSpec("width/relu", image_size=2), "at least 3×3"),
        (ModelSpec("params/relu", image_size=3), "at least 4×4"),
        (ModelSpec("allcnn/relu", num_classes=0), "num_classes"),
        (ModelSpec("allcnn/relu", in_channels=True), "in_channels"),  # type: ignore[arg-type]
        (ModelSpec("allcnn/relu", image_size=8.0), "image_size"),  # type: ignore[arg-type]
    ],
)
def test_bad_specs_are_bad_input(spec: ModelSpec, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        build(spec)


def test_build_rejects_other_objects() -> None:
    with pytest.raises(BadInputError):
        build(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("family", FAMILIES)
def test_linked_and_extended_parameter_counts_within_5_percent(family: str) -> None:
    for activation in PLAIN:
        for suffix in ("", "-nobn" if family == "resnet" else "-bn"):
            linked = count_parameters(_meta(f"{family}/lk-{activation}{suffix}"))
            extended = count_parameters(_meta(f"{family}/ext-{activation}{suffix}"))
            single = count_parameters(_meta(f"{family}/{activation}{suffix}"))
            assert abs(extended - linked) / linked <= 0.05, (family, activation, suffix)
            assert single < 0.75 * linked  # the fair comparison needs the widening


@pytest.mark.parametrize("family", FAMILIES)
def test_bn_suffix_switches_batch_norm(family: str) -> None:
    for name in names(family):
        model = _meta(name)
        bns = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        assert len(convs) == CONV_LAYERS[family], name
        if parse_name(name).batch_norm:
            # one BN after every conv except a classifier conv (AllCNN's last 1×1)
            assert bns == CONV_LAYERS[family] - (family == "allcnn"), name
            assert all(c.bias is None for c in convs if c.out_channels != 10), name
        else:
            assert bns == 0, name
            assert all(c.bias is not None for c in convs), name
    default, override = ("resnet/relu", "resnet/relu-nobn")
    if family != "resnet":
        default, override = (f"{family}/relu", f"{family}/relu-bn")
    assert parse_name(default).batch_norm != parse_name(override).batch_norm


def _activations(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, ACTIVATION_TYPES)]


@pytest.mark.parametrize("family", ["width", "depth", "params", "allcnn"])
def test_activations_match_the_form(family: str) -> None:
    for name in names(family):
        parsed = parse_name(name)
        acts = _activations(_meta(name))
        assert len(acts) == HIDDEN_LAYERS[family], name
        expected = (LINKED if parsed.linked else PLAIN)[parsed.activation]
        assert all(type(a) is expected for a in acts), name
        if parsed.linked:
            # channel axis after convs; the last axis after the dense hidden layer
            axes = [a.axis for a in acts]
            assert axes == [1] * (len(acts) - (family == "params")) + [-1] * (family == "params")
        if parsed.activation == "relu" and parsed.linked:
            assert {a.policy for a in acts} == {parsed.policy}


def test_next_layer_sees_twice_the_channels_when_linked() -> None:
    for family in ("width", "depth", "params", "allcnn"):
        single, linked = _meta(f"{family}/selu"), _meta(f"{family}/lk-selu")
        s_layers = [m for m in single.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        l_layers = [m for m in linked.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        s_in = [getattr(m, "in_channels", getattr(m, "in_features", 0)) for m in s_layers]
        l_in = [getattr(m, "in_channels", getattr(m, "in_features", 0)) for m in l_layers]
        assert l_in[0] == s_in[0] == 3
        assert l_in[1:] == [2 * n for n in s_in[1:]], family


def test_prelu_is_per_channel() -> None:
    for name in ("allcnn/prelu", "params/ext-prelu", "resnet/prelu", "allcnn/lk-prelu"):
        model = _meta(name)
        for module in model.modules():
            if isinstance(module, nn.PReLU):
                assert module.num_parameters > 1
            if isinstance(module, LinkedPReLU):
                assert module.slope_pos.numel() == module.slope_neg.numel() > 1


def test_depth_widths_follow_the_paper() -> None:
    def widths(name: str) -> list[int]:
        return [m.out_channels for m in _meta(name).modules() if isinstance(m, nn.Conv2d)]

    assert widths("depth/relu") == [4] * 51
    assert widths("depth/lk-relu") == [4] * 51
    assert widths("depth/ext-relu") == [5] * 50 + [9]
    first = next(m for m in _meta("depth/relu").modules() if isinstance(m, nn.Conv2d))
    assert (first.kernel_size, first.stride) == ((7, 7), (2, 2))


def test_allcnn_layout() -> None:
    model = _meta("allcnn/lk-relu")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 96, 96, 192, 192, 192, 192, 192, 10]
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 1, 2, 1, 1, 1]
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert [d.p for d in drops] == [0.5, 0.5]
    assert [
        c.out_channels for c in _meta("allcnn/ext-relu").modules() if isinstance(c, nn.Conv2d)
    ] == [135] * 3 + [271] * 5 + [10]


class _LeafActivations(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, ACTIVATION_TYPES) or super().is_leaf_module(m, qualname)


@pytest.mark.parametrize("name", ["resnet/lk-relu", "resnet/lk-prelu-nobn", "resnet/lk-swish"])
def test_resnet_linked_activations_follow_2a_and_2b_only(name: str) -> None:
    model = _meta(name)
    graph = _LeafActivations().trace(model)
    modules = dict(model.named_modules())
    linked_inputs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], ACTIVATION_TYPES):
            continue
        source = node.args[0]
        if isinstance(modules[node.target], LinkedActivation):
            assert source.op == "call_module", node.target
            linked_inputs.append(source.target)
        else:  # plain activations: after the stem and after every residual add
            assert (
                node.target == "act1"
                or source.target in ("add", "iadd")
                or (source.op == "call_function" and "add" in str(source.target))
            ), node.target
    blocks = [n for n, m in modules.items() if isinstance(m, Bottleneck)]
    assert len(blocks) == 3 + 4 + 6 + 3
    expected = sorted(f"{b}.{bn}" for b in blocks for bn in ("bn2a", "bn2b"))
    assert sorted(linked_inputs) == expected
    for block in (modules[b] for b in blocks):
        assert isinstance(block.act2a, LinkedActivation) and isinstance(
            block.act2b, LinkedActivation
        )
        assert not isinstance(block.act, LinkedActivation)
        assert block.conv2b.in_channels == 2 * block.conv2a.out_channels
        assert block.conv2c.in_channels == 2 * block.conv2b.out_channels


def test_resnet_stages_and_extended_widths() -> None:
    model = _meta("resnet/relu")
    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert [b.conv2c.out_channels for b in blocks] == [64] * 7 + [128] * 9
    assert [b.conv2a.stride[0] for b in blocks] == [1] * 3 + [2] + [1] * 3 + [2] + [1] * 5 + [
        2,
        1,
        1,
    ]
    assert sum(b.shortcut is not None for b in blocks) == 4
    ext = [m for m in _meta("resnet/ext-relu").modules() if isinstance(m, Bottleneck)]
    assert [(b.conv2a.out_channels, b.conv2b.out_channels, b.conv2c.out_channels) for b in ext] == [
        (22, 22, 64)
    ] * 7 + [(45, 45, 128)] * 9


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("family", FAMILIES)
def test_linked_models_run_on_cuda(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # compare at fp32 accuracy
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    torch.manual_seed(0)
    model = build(ModelSpec(f"{family}/lk-prelu", image_size=16)).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
        got = model.cuda()(x.cuda()).cpu()
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
