"""Keras layer semantics for zoo models: TensorFlow's 'same' padding on the strided first
conv, per-element PReLU slopes from 0 (LK-PReLU then starts equal to LK-ReLU)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from linkedonnx.nn import ElementPReLU, LinkedPReLU
from linkedonnx.zoo import ModelSpec, build
from linkedonnx.zoo.keras_form import TFSameConv2d, tf_same_padding, to_keras_form


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "total"),
    [(32, 7, 2, 5), (28, 7, 2, 5), (7, 7, 2, 6), (8, 3, 1, 2)],
)
def test_tf_same_padding(size: int, kernel: int, stride: int, total: int) -> None:
    assert tf_same_padding(size, kernel, stride) == total


def _keras(name: str, size: int = 8) -> torch.nn.Module:
    spec = ModelSpec(name, 1, size, 10)
    torch.manual_seed(0)
    return to_keras_form(build(spec), spec.input_shape(1)[1:])


def test_first_conv_pads_two_before_three_after() -> None:
    model = _keras("depth/relu")
    conv = model.conv0[0]
    assert isinstance(conv, TFSameConv2d) and conv.padding == (0, 0)
    assert type(model.conv1[0]) is torch.nn.Conv2d  # stride 1 convs keep their padding
    x = torch.rand(2, 1, 8, 8)
    want = F.conv2d(F.pad(x, [2, 3, 2, 3]), conv.weight, conv.bias, stride=2)
    torch.testing.assert_close(conv(x), want, rtol=0, atol=0)
    symmetric = F.conv2d(x, conv.weight, conv.bias, stride=2, padding=3)
    assert want.shape == symmetric.shape and not torch.equal(want, symmetric)


def test_prelu_slopes_per_element_from_zero() -> None:
    model = _keras("depth/prelu")
    slopes = [m for m in model.modules() if isinstance(m, ElementPReLU)]
    assert len(slopes) == 51 and not any(isinstance(m, torch.nn.PReLU) for m in model.modules())
    assert slopes[0].weight.shape == (4, 4, 4) and not slopes[0].weight.any()
    linked = [m for m in _keras("depth/lk-prelu").modules() if isinstance(m, LinkedPReLU)]
    assert linked[0].slope_pos.shape == linked[0].slope_neg.shape == (4, 4, 4)
    assert not linked[0].slope_pos.any() and not linked[0].slope_neg.any()


def test_lk_prelu_starts_equal_to_lk_relu() -> None:
    prelu, relu = _keras("depth/lk-prelu"), _keras("depth/lk-relu")
    relu.load_state_dict(
        {k: v for k, v in prelu.state_dict().items() if "slope" not in k}, strict=True
    )
    x = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(prelu(x), relu(x), rtol=0, atol=0)


def test_the_slopes_learn() -> None:
    model = _keras("depth/prelu")
    model(torch.randn(2, 1, 8, 8)).sum().backward()
    grads = [m.weight.grad for m in model.modules() if isinstance(m, ElementPReLU)]
    assert grads[0] is not None and grads[0].abs().sum() > 0


def _keras_resnet(name: str, size: int = 28) -> torch.nn.Module:
    spec = ModelSpec(name, 1, size, 10)
    torch.manual_seed(0)
    return to_keras_form(build(spec), spec.input_shape(1)[1:], family="resnet")


def test_resnet_takes_keras_batch_norm() -> None:
    bns = [
        m for m in _keras_resnet("resnet/lk-relu").modules() if isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert len(bns) == 1 + 16 * 3 + 4  # conv1, 2a/2b/2c of 16 blocks, 4 shortcuts
    assert {(m.momentum, m.eps) for m in bns} == {(0.01, 1e-3)}  # Keras: 0.99, 1e-3
    torch_bn = [m for m in build(ModelSpec("resnet/relu", 1, 28, 10)).modules()]
    assert {(m.momentum, m.eps) for m in torch_bn if isinstance(m, torch.nn.BatchNorm2d)} == {
        (0.1, 1e-5)
    }  # the zoo itself keeps PyTorch's defaults


@pytest.mark.parametrize(("size", "side"), [(28, 4), (32, 4), (16, 2)])
def test_resnet_head_flattens_the_last_map(size: int, side: int) -> None:
    model = _keras_resnet("resnet/lk-relu-nobn", size)
    assert isinstance(model.pool, torch.nn.Identity)
    assert model.fc.in_features == 128 * side * side  # Keras: Flatten() then Dense
    assert model(torch.rand(2, 1, size, size)).shape == (2, 10)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


def test_resnet_same_padding_already_is_tensorflows() -> None:
    """The strided convs of the ResNet are 1x1 (2a and the shortcut), for which
    TensorFlow's 'same' adds no padding, as the zoo's k // 2 = 0 does."""
    model = _keras_resnet("resnet/relu-nobn", 28)
    for m in model.modules():
        if isinstance(m, TFSameConv2d):
            assert m.kernel_size == (1, 1)
            for size in (28, 14, 7):
                assert tf_same_padding(size, 1, m.stride[0]) == 0


def test_head_rewrite_needs_a_pool_and_dense_pair() -> None:
    with pytest.raises(ValueError, match="global pool"):
        to_keras_form(build(ModelSpec("depth/relu", 1, 8, 10)), (1, 8, 8), family="resnet")
