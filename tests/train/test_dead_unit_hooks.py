"""Dead units of torch models through forward hooks."""

from __future__ import annotations

import torch
from torch import nn

from linkedonnx.nn import LinkedReLU, LinkedSELU
from linkedonnx.train.dead_units import activation_layers, count_dead_units


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 1)
        self.act = LinkedReLU()
        self.fc = nn.Linear(6 * 2 * 2, 4)
        self.relu = nn.ReLU()
        self.selu = LinkedSELU(axis=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.conv(x)).flatten(1)
        h = self.relu(self.fc(h))
        return self.selu(self.relu(h))  # self.relu runs twice: two layers


def _net() -> _Net:
    net = _Net()
    with torch.no_grad():
        net.conv.weight.copy_(torch.tensor([1.0, -1.0, 0.0]).view(3, 1, 1, 1))
        net.conv.bias.copy_(torch.tensor([0.0, 0.0, 0.5]))
        net.fc.weight.zero_()
        net.fc.bias.copy_(torch.tensor([1.0, -1.0, 0.0, 2.0]))
    return net


def test_counts_follow_the_definition() -> None:
    net = _net()
    x = torch.rand(5, 1, 2, 2) + 0.1  # strictly positive inputs
    report = count_dead_units(net, [x[:2], x[2:]], source="t")
    assert report.samples == 5
    by_name = {layer.name: layer for layer in report.layers}
    assert list(by_name) == ["act", "relu", "relu#1", "selu"]
    # conv channels: z = x > 0, z = -x < 0, z = 0.5 > 0 -> first half [alive, dead, alive],
    # mirror half [dead, alive, dead]
    assert (by_name["act"].units, by_name["act"].dead) == (6, 3)
    assert by_name["act"].kind == "lk-relu"
    # fc outputs are the biases: 1, -1, 0, 2 -> relu kills two of four
    assert (by_name["relu"].units, by_name["relu"].dead) == (4, 2)
    assert (by_name["relu#1"].units, by_name["relu#1"].dead) == (4, 2)
    # selu(0) = 0 for the dead inputs, on both halves: 2 x 2 dead of 8
    assert (by_name["selu"].units, by_name["selu"].dead) == (8, 4)
    assert report.dead == 11 and report.units == 22


def test_dead_needs_zero_on_every_sample_and_position() -> None:
    net = _net()
    x = torch.rand(4, 1, 2, 2) + 0.1
    # one negative pixel of one sample revives channel 1's first half (z = -x > 0) and
    # channel 0's mirror half (z = x < 0); only channel 2's mirror half stays dead
    x[3, 0, 1, 1] = -1.0
    act = {la.name: la for la in count_dead_units(net, [x]).layers}["act"]
    assert act.dead == 1


def test_hooks_removed_and_mode_restored() -> None:
    net = _net().train()
    count_dead_units(net, [torch.rand(2, 1, 2, 2)])
    assert net.training
    assert all(not m._forward_hooks for _, m, _, _ in activation_layers(net))


def test_dead_elements_count_each_channel_and_position() -> None:
    net = _net()
    x = torch.rand(4, 1, 2, 2) + 0.1
    x[:, 0, 0, 0] = -1.0  # position (0, 0) negative on every sample
    act = {la.name: la for la in count_dead_units(net, [x]).layers}["act"]
    # 6 channels x 4 positions; channel 0 first half (z = x): dead at (0,0) only; its
    # mirror: dead at the 3 other positions; channel 1 (z = -x) the reverse (3 + 1);
    # channel 2 (z = 0.5): first half alive, mirror dead everywhere (4)
    assert (act.elements, act.dead_elements) == (24, 1 + 3 + 3 + 1 + 4)
    assert act.dead == 1  # per channel only the constant channel's mirror half
    report = count_dead_units(net, [x])
    assert report.elements == sum(la.elements for la in report.layers)
