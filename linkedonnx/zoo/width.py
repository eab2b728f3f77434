"""Width net (paper §width): one 3×3 valid conv of 50 filters, flatten, dense classifier.

Extended form: 100 filters, not int(50·√2) = 70. With a single hidden layer the
linked form's doubling lands entirely on the classifier (2·50 channels in), which
holds almost every parameter; 70 filters would have ~30% fewer parameters than the
linked net, 100 filters match it within 0.2% at 3×32×32.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from linkedonnx.zoo.layers import Activations, conv_unit
from linkedonnx.zoo.naming import ModelName
from linkedonnx.zoo.spec import ModelSpec

FILTERS = 50
EXTENDED_FILTERS = 2 * FILTERS
MIN_IMAGE_SIZE = 3


def build(model: ModelName, spec: ModelSpec) -> nn.Module:
    """The width net for ``model`` at ``spec``'s geometry (logits, no softmax)."""
    acts = Activations(model)
    filters = EXTENDED_FILTERS if model.extended else FILTERS
    side = spec.image_size - 2
    return nn.Sequential(
        OrderedDict(
            conv=conv_unit(
                spec.in_channels,
                filters,
                3,
                batch_norm=model.batch_norm,
                activation=acts.make(filters, axis=1),
            ),
            flatten=nn.Flatten(),
            fc=nn.Linear(filters * acts.factor * side * side, spec.num_classes),
        )
    )
