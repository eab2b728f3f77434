"""Parameter-count net (paper §parameters, the Keras CIFAR-10 example): conv 32 'same',
conv 32 valid, max-pool, conv 64 'same', conv 64 valid, max-pool, flatten, dense 512,
dense classifier.

Extended form: every width × √2 as in the authors' code (45, 90, 724); it matches the
linked form's parameter count within 1% at 3×32×32.
Small inputs: below 10×10 the valid convs would shrink the map to nothing, so there
every conv pads ('same'); at 10 and above the layout is the paper's.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from linkedonnx.zoo.layers import Activations, conv_unit, sqrt2_width
from linkedonnx.zoo.naming import ModelName
from linkedonnx.zoo.spec import ModelSpec

WIDTHS = (32, 64)
HIDDEN = 512
VALID_MIN_SIZE = 10
MIN_IMAGE_SIZE = 4


def build(model: ModelName, spec: ModelSpec) -> nn.Module:
    """The 32-32-64-64 / 512 net for ``model`` at ``spec``'s geometry (logits, no softmax)."""
    acts = Activations(model)
    widen = sqrt2_width if model.extended else int
    bn = model.batch_norm
    second_pad = 0 if spec.image_size >= VALID_MIN_SIZE else 1
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels, side = spec.in_channels, spec.image_size
    for stage, base in enumerate(WIDTHS, start=1):
        width = widen(base)
        layers[f"conv{stage}a"] = conv_unit(
            channels, width, 3, padding=1, batch_norm=bn, activation=acts.make(width)
        )
        layers[f"conv{stage}b"] = conv_unit(
            width * acts.factor,
            width,
            3,
            padding=second_pad,
            batch_norm=bn,
            activation=acts.make(width),
        )
        layers[f"pool{stage}"] = nn.MaxPool2d(2)
        channels = width * acts.factor
        side = (side - 2 + 2 * second_pad) // 2
    hidden = widen(HIDDEN)
    layers["flatten"] = nn.Flatten()
    layers["fc1"] = nn.Linear(channels * side * side, hidden)
    layers["act_fc1"] = acts.make(hidden, axis=-1)
    layers["fc2"] = nn.Linear(hidden * acts.factor, spec.num_classes)
    return nn.Sequential(layers)
