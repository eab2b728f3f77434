"""AllCNN-C (paper §AllCNN): 96-96-96(s2)-192-192-192(s2)-192-1×1 192-1×1 classes,
global average pooling, dropout 0.5 after each stride-2 conv.

Every 3×3 conv pads by 1 (so any input size from 1×1 up works; the original's one
valid 3×3 conv becomes 'same'), and the last 1×1 conv outputs the logits directly
(no activation after it). Extended form: widths × √2 as in the authors' code
(135, 271); it matches the linked form's parameter count within 1%.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from linkedonnx.zoo.layers import Activations, conv_unit, sqrt2_width
from linkedonnx.zoo.naming import ModelName
from linkedonnx.zoo.spec import ModelSpec

#: (base width, kernel, stride) of the hidden convs; dropout follows each stride-2 one.
LAYERS = (
    (96, 3, 1),
    (96, 3, 1),
    (96, 3, 2),
    (192, 3, 1),
    (192, 3, 1),
    (192, 3, 2),
    (192, 3, 1),
    (192, 1, 1),
)
DROPOUT = 0.5
MIN_IMAGE_SIZE = 1


def build(model: ModelName, spec: ModelSpec) -> nn.Module:
    """AllCNN-C for ``model`` at ``spec``'s geometry (logits, no softmax)."""
    acts = Activations(model)
    widen = sqrt2_width if model.extended else int
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels = spec.in_channels
    for i, (base, kernel, stride) in enumerate(LAYERS, start=1):
        width = widen(base)
        layers[f"conv{i}"] = conv_unit(
            channels,
            width,
            kernel,
            stride=stride,
            padding=kernel // 2,
            batch_norm=model.batch_norm,
            activation=acts.make(width),
        )
        if stride == 2:
            layers[f"drop{i}"] = nn.Dropout(DROPOUT)
        channels = width * acts.factor
    layers["classifier"] = nn.Conv2d(channels, spec.num_classes, 1)
    layers["pool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    return nn.Sequential(layers)
