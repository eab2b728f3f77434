"""Depth net (paper §depth): conv 4 filters 7×7 stride 2 'same', 50 convs of 4 filters
3×3 'same', flatten, dense classifier: 51 conv layers, no BN by default.

Extended form: the paper's √2 runs use 5 filters (int(4·√2)); we keep 5 filters for
the first 50 conv layers and give the last conv, the one feeding the classifier, 9
filters. With 5 filters throughout the plain net has ~30% fewer parameters than the
linked net at 3×32×32, because the classifier after Flatten holds most of them and
sees 2·4 = 8 channels in the linked net; 9 filters in the last conv bring the count
within 1% while every other layer keeps the paper's width.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from linkedonnx.zoo.layers import Activations, conv_unit, sqrt2_width
from linkedonnx.zoo.naming import ModelName
from linkedonnx.zoo.spec import ModelSpec

FILTERS = 4
DEPTH = 50
EXTENDED_LAST_FILTERS = 9
MIN_IMAGE_SIZE = 1


def build(model: ModelName, spec: ModelSpec) -> nn.Module:
    """The 51-conv depth net for ``model`` at ``spec``'s geometry (logits, no softmax)."""
    acts = Activations(model)
    width = sqrt2_width(FILTERS) if model.extended else FILTERS
    widths = [width] * (DEPTH + 1)
    if model.extended:
        widths[-1] = EXTENDED_LAST_FILTERS
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["conv0"] = conv_unit(
        spec.in_channels,
        widths[0],
        7,
        stride=2,
        padding=3,
        batch_norm=model.batch_norm,
        activation=acts.make(widths[0]),
    )
    for i in range(1, DEPTH + 1):
        layers[f"conv{i}"] = conv_unit(
            widths[i - 1] * acts.factor,
            widths[i],
            3,
            padding=1,
            batch_norm=model.batch_norm,
            activation=acts.make(widths[i]),
        )
    side = (spec.image_size + 1) // 2  # 7×7 stride 2 with padding 3: ceil(size / 2)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(widths[-1] * acts.factor * side * side, spec.num_classes)
    return nn.Sequential(layers)
