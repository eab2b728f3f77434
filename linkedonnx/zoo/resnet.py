"""Scaled-down bottleneck ResNet-50 (paper §ResNet): conv1 3×3 of 8 filters, stages
[16,16,64]×3 (stride 1), [16,16,64]×4, [32,32,128]×6, [32,32,128]×3 (stride 2 in each
stage's first block), global average pooling, dense classifier. BN by default.

In the linked form only the branch convs 2a and 2b are followed by the linked
activation (so 2b and 2c see twice the channels); conv1 and every residual add are
followed by the plain activation, as in the authors' code. ``-nobn`` removes every
BN layer (the convs then carry biases).

Extended form: the branch widths of 2a and 2b × √2 (authors' rounding: 16 -> 22,
32 -> 45); the stem and the residual stream (2c, shortcut: 64 / 128) keep their
width. The linked form doubles only what 2a and 2b output, never the residual
stream; widening every layer by √2 would give ~18% more parameters than the
linked net, widening 2a and 2b gives ~3.5% fewer (at 3×32×32).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from linkedonnx.zoo.layers import Activations, sqrt2_width
from linkedonnx.zoo.naming import ModelName
from linkedonnx.zoo.spec import ModelSpec

STEM = 8
#: (filters of 2a, 2b, 2c; number of blocks) per stage.
STAGES = (((16, 16, 64), 3), ((16, 16, 64), 4), ((32, 32, 128), 6), ((32, 32, 128), 3))
MIN_IMAGE_SIZE = 1


def _conv(cin: int, cout: int, kernel: int, stride: int, bn: bool) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=not bn)


def _bn(channels: int, bn: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if bn else nn.Identity()


class Bottleneck(nn.Module):
    """Bottleneck block: 1×1 (2a) -> 3×3 (2b) -> 1×1 (2c), plus identity or 1×1 shortcut.

    Attributes ``conv2a``, ``bn2a``, ``act2a``, ``conv2b``, ``bn2b``, ``act2b``, ``conv2c``,
    ``bn2c``, ``shortcut`` (None for an identity shortcut) and ``act`` (after the add).
    BN slots hold ``nn.Identity`` when batch norm is off.
    """

    def __init__(
        self,
        in_channels: int,
        filters: tuple[int, int, int],
        stride: int,
        acts: Activations,
        batch_norm: bool,
    ) -> None:
        super().__init__()
        f1, f2, f3 = filters
        bn = batch_norm
        self.conv2a = _conv(in_channels, f1, 1, stride, bn)
        self.bn2a = _bn(f1, bn)
        self.act2a = acts.make(f1)
        self.conv2b = _conv(f1 * acts.factor, f2, 3, 1, bn)
        self.bn2b = _bn(f2, bn)
        self.act2b = acts.make(f2)
        self.conv2c = _conv(f2 * acts.factor, f3, 1, 1, bn)
        self.bn2c = _bn(f3, bn)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != f3:
            self.shortcut = nn.Sequential(
                OrderedDict(conv=_conv(in_channels, f3, 1, stride, bn), bn=_bn(f3, bn))
            )
        self.act = acts.plain(f3)

    def forward(self, x: Tensor) -> Tensor:
        y = self.act2a(self.bn2a(self.conv2a(x)))
        y = self.act2b(self.bn2b(self.conv2b(y)))
        y = self.bn2c(self.conv2c(y))
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.act(y + skip)


def build(model: ModelName, spec: ModelSpec) -> nn.Module:
    """The bottleneck ResNet for ``model`` at ``spec``'s geometry (logits, no softmax)."""
    acts = Activations(model)
    widen = sqrt2_width if model.extended else int
    bn = model.batch_norm
    stem = STEM
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["conv1"] = _conv(spec.in_channels, stem, 3, 1, bn)
    layers["bn1"] = _bn(stem, bn)
    layers["act1"] = acts.plain(stem)
    channels = stem
    for stage, (filters, blocks) in enumerate(STAGES, start=2):
        widths = (widen(filters[0]), widen(filters[1]), filters[2])
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 2 else 1
            layers[f"res{stage}{'abcdef'[block]}"] = Bottleneck(channels, widths, stride, acts, bn)
            channels = widths[2]
    layers["pool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(channels, spec.num_classes)
    return nn.Sequential(layers)
