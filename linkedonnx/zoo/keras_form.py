"""Keras layer semantics for a built zoo model (the paper recipe's architecture).

The authors built their nets with Keras 2 (``tests/test_article/depth.py`` of
``blauigris/linked_neurons``); two of its layers differ from the PyTorch ones the zoo
uses:

- ``PReLU()`` has one slope per element (the input's H x W x C) starting at 0, so a
  PReLU net starts as a ReLU net and LK-PReLU as LK-ReLU; the zoo's are per channel
  starting at 0.25 (PyTorch's default);
- ``Conv2D(..., strides=2, padding='same')`` pads as TensorFlow does: the total padding
  max((ceil(n/s) - 1)·s + k - n, 0) is split with the extra pixel at the bottom/right
  (for 7x7 stride 2 on an even side: 2 before, 3 after), where the zoo pads 3 on both
  sides (the same output size, a one-pixel shift of the sampling grid);
- ``BatchNormalization()`` keeps its moving averages with momentum 0.99 and adds eps
  1e-3 to the variance; PyTorch's ``BatchNorm2d`` defaults are momentum 0.1 (in its
  convention: 1 - 0.99 = 0.01 is Keras') and eps 1e-5;
- the authors' ResNet (``tests/test_article/resnet50.py``) ends with ``Flatten()`` and
  ``Dense``, where the zoo's ResNet pools globally before its dense layer
  (:data:`FLATTEN_HEAD_FAMILIES`).

:func:`to_keras_form` rewrites a built model in place; parameter names are kept (a
PReLU's slope is still ``weight``, a conv's ``weight``/``bias``), their shapes change
for PReLU slopes, so such a checkpoint is loaded only by a model rewritten alike.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from linkedonnx.nn import ElementPReLU, LinkedPReLU

#: Keras ``BatchNormalization`` defaults, in PyTorch's convention (momentum = 1 - 0.99).
KERAS_BN_MOMENTUM = 0.01
KERAS_BN_EPS = 1e-3

#: Families whose authors' nets flatten the last feature map into the dense layer where
#: the zoo's pool it globally (the zoo module names the two ``pool`` and ``fc``).
FLATTEN_HEAD_FAMILIES = ("resnet",)


class TFSameConv2d(nn.Conv2d):
    """A Conv2d padding its input as TensorFlow's 'same' (extra pixel after)."""

    def forward(self, x: Tensor) -> Tensor:
        pads: list[int] = []
        for size, k, s, d in zip(
            reversed(x.shape[-2:]),
            reversed(self.kernel_size),
            reversed(self.stride),
            reversed(self.dilation),
            strict=True,
        ):
            total = tf_same_padding(int(size), k, s, d)
            pads += [total // 2, total - total // 2]
        return self._conv_forward(F.pad(x, pads), self.weight, self.bias)


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """Total padding TensorFlow's 'same' adds along one axis of ``size``."""
    effective = (kernel - 1) * dilation + 1
    return max((math.ceil(size / stride) - 1) * stride + effective - size, 0)


def _same_strided(conv: nn.Module) -> bool:
    """A strided conv padded k//2 on each side: the zoo's spelling of 'same'."""
    return (
        type(conv) is nn.Conv2d
        and max(conv.stride) > 1
        and conv.padding == tuple(k // 2 for k in conv.kernel_size)
    )


def _tf_conv(conv: nn.Conv2d) -> TFSameConv2d:
    new = TFSameConv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=0,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    new.load_state_dict(conv.state_dict())
    return new


def _input_shapes(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, torch.Size]:
    """Input shape (without the batch axis) of every PReLU-like module, from one
    forward pass of zeros (no RNG used, eval mode restored)."""
    shapes: dict[str, torch.Size] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.PReLU | LinkedPReLU):

            def hook(_m: nn.Module, inputs: tuple, name: str = name) -> None:
                shapes.setdefault(name, inputs[0].shape[1:])

            handles.append(module.register_forward_pre_hook(hook))
    try:
        _probe(model, input_shape)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def _flatten_head(model: nn.Module, input_shape: tuple[int, ...]) -> None:
    """Replace the global pool before the dense layer ``fc`` by nothing, and ``fc`` by a
    dense layer over the whole flattened feature map (Keras' ``Flatten(); Dense``).
    Raises ValueError when ``model`` has no ``pool`` / ``fc`` pair of that kind."""
    pool, fc = getattr(model, "pool", None), getattr(model, "fc", None)
    if not isinstance(pool, nn.AdaptiveAvgPool2d) or not isinstance(fc, nn.Linear):
        raise ValueError("the model has no global pool 'pool' before a dense layer 'fc'")
    seen: list[torch.Size] = []
    handle = pool.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].shape))
    try:
        _probe(model, input_shape)
    finally:
        handle.remove()
    model.pool = nn.Identity()
    model.fc = nn.Linear(math.prod(seen[0][1:]), fc.out_features)


def to_keras_form(
    model: nn.Module, input_shape: tuple[int, ...], family: str | None = None
) -> nn.Module:
    """Rewrite ``model`` (input ``input_shape`` = (C, H, W)) in place with Keras'
    layer semantics: each ``nn.PReLU`` becomes an :class:`ElementPReLU`, each
    :class:`LinkedPReLU` gets per-element slope sets, all slopes 0; each strided conv
    with symmetric k//2 padding pads as TensorFlow's 'same'; each ``BatchNorm2d`` takes
    Keras' momentum and eps; a model of a family in :data:`FLATTEN_HEAD_FAMILIES` gets
    its authors' Flatten + Dense head. Returns ``model``. Raises ValueError for a PReLU
    or LinkedPReLU the forward pass never reaches."""
    if family in FLATTEN_HEAD_FAMILIES:
        _flatten_head(model, input_shape)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum, module.eps = KERAS_BN_MOMENTUM, KERAS_BN_EPS
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if _same_strided(child):
                setattr(module, child_name, _tf_conv(child))
    shapes = _input_shapes(model, input_shape)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.PReLU | LinkedPReLU) and full not in shapes:
                raise ValueError(f"{full} is not used in the forward pass")
            if isinstance(child, nn.PReLU):
                setattr(module, child_name, ElementPReLU(tuple(shapes[full]), init=0.0))
            elif isinstance(child, LinkedPReLU):
                shape = tuple(shapes[full])
                child.slope_pos = nn.Parameter(torch.zeros(shape))
                child.slope_neg = nn.Parameter(torch.zeros(shape))
    return model


def _probe(model: nn.Module, input_shape: tuple[int, ...]) -> None:
    """Run ``model`` once on a zero batch of one ``input_shape`` image, in eval mode and
    without gradients (so its hooks see every layer's shape); its mode is restored."""
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape)))
    finally:
        model.train(was_training)
