"""linkify on networks written with torchvision's topology, and on the zoo: which
activations are linked (per call site), the function preserved, shapes like the zoo's
linked forms, training from the result, and what is refused."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from nets import MobileNetStyle, resnet18, vgg11
from torch import nn

from linkedonnx.linkify import LinkifyError, linkify
from linkedonnx.nn import LinkedActivation, LinkedPReLU, LinkedReLU, LinkedSELU, LinkedSwish
from linkedonnx.sources import build_zoo
from linkedonnx.zoo import ModelSpec

NETS = {"resnet18": resnet18, "vgg11": vgg11, "mobilenet": MobileNetStyle}


def randomize_batch_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch norm non-trivial affine parameters and running statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.2 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return model


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    return randomize_batch_norms(NETS[name]())


def entries(report) -> dict[str, tuple[bool, str]]:
    return {a.site: (a.linked, a.reason) for a in report.activations}


def test_resnet18_links_12_and_leaves_5_per_call_site() -> None:
    model = build("resnet18")
    lk, report = linkify(model, "lk-relu", example_input=torch.randn(2, 3, 32, 32))
    assert (report.linked, report.left) == (12, 5)
    sites = entries(report)
    # BasicBlock calls one self.relu twice: after bn1 (feeds conv2) and after the add
    assert sites["layer1.0.relu (call 1 of 2)"][0]
    assert sites["layer1.1.relu (call 2 of 2)"] == (
        True,
        "its output reaches only layer2.0.conv1, layer2.0.downsample.0",
    )
    assert not sites["layer1.0.relu (call 2 of 2)"][0]
    assert "residual Add" in sites["layer1.0.relu (call 2 of 2)"][1]
    assert "residual Add" in sites["relu"][1]  # the stem feeds layer1.0's identity
    assert sites["layer4.1.relu (call 2 of 2)"] == (True, "its output reaches only fc")
    linked = [m for m in lk.modules() if isinstance(m, LinkedReLU)]
    assert len(linked) == 12
    assert lk.get_submodule("layer2.0.conv1").in_channels == 16 and lk.fc.in_features == 128
    assert report.params_after > report.params_before == sum(p.numel() for p in model.parameters())


def test_vgg11_links_every_relu_and_widens_through_pools_flatten_dropout() -> None:
    model = build("vgg11")
    lk, report = linkify(model, "lk-relu", example_input=torch.randn(2, 3, 32, 32))
    assert (report.linked, report.left) == (10, 0)
    assert lk.get_submodule("classifier.0").in_features == 2 * 64 * 7 * 7
    assert lk.get_submodule("classifier.3").in_features == 2 * 512


def test_mobilenet_block_leaves_activations_feeding_depthwise_convs() -> None:
    model = build("mobilenet")
    _, report = linkify(model, "lk-relu", example_input=torch.randn(2, 3, 32, 32))
    assert (report.linked, report.left) == (4, 2)
    left = [a for a in report.activations if not a.linked]
    assert all("grouped or depthwise" in a.reason for a in left)


@pytest.mark.parametrize("name", sorted(NETS))
def test_function_preserved_in_eval_mode(name: str) -> None:
    model = build(name).eval()
    x = torch.randn(4, 3, 32, 32)
    lk, report = linkify(model, "lk-relu", example_input=x)
    assert report.linked > 0
    with torch.no_grad():
        want, got = model(x), lk(x)
    assert want.abs().max() > 1e-2
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet"])  # VGG-11 has dropout
def test_function_preserved_in_train_mode(name: str) -> None:
    model = build(name).train()
    x = torch.randn(4, 3, 32, 32)
    lk, _ = linkify(model, "lk-relu", example_input=x)
    assert lk.training
    reference = copy.deepcopy(model)
    torch.testing.assert_close(lk(x), reference(x), atol=1e-5, rtol=1e-5)


def test_input_module_left_untouched() -> None:
    model = build("resnet18")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    linkify(model, "lk-relu", example_input=torch.randn(1, 3, 32, 32))
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(isinstance(m, LinkedActivation) for m in model.modules())


def test_zoo_resnet_relu_links_37_and_leaves_the_12_feeding_identity_adds() -> None:
    spec = ModelSpec("resnet/relu")
    model = build_zoo(spec)
    x = torch.randn(spec.input_shape(2))
    lk, report = linkify(model, "lk-relu", example_input=x)
    assert (report.linked, report.left) == (37, 12)
    assert all("residual Add" in a.reason for a in report.activations if not a.linked)
    torch.testing.assert_close(lk(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["width", "depth", "params", "allcnn"])
@pytest.mark.parametrize("activation", ["relu", "prelu", "selu", "swish"])
def test_linkified_zoo_model_has_the_linked_zoo_models_parameter_shapes(
    family: str, activation: str
) -> None:
    spec = ModelSpec(f"{family}/{activation}", image_size=16)
    model = build_zoo(spec)
    x = torch.randn(spec.input_shape(2))
    lk, report = linkify(model, f"lk-{activation}", example_input=x)
    assert report.left == 0
    reference = build_zoo(ModelSpec(f"{family}/lk-{activation}", image_size=16))
    assert [tuple(p.shape) for p in lk.parameters()] == [
        tuple(p.shape) for p in reference.parameters()
    ]
    assert [type(m) for m in lk.modules() if isinstance(m, LinkedActivation)] == [
        type(m) for m in reference.modules() if isinstance(m, LinkedActivation)
    ]
    torch.testing.assert_close(lk.eval()(x), model.eval()(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("activation", "cls"),
    [
        ("lk-relu-minmax", LinkedReLU),
        ("lk-prelu", LinkedPReLU),
        ("lk-selu", LinkedSELU),
        ("lk-swish", LinkedSwish),
    ],
)
def test_without_preserve_every_supported_activation_takes_the_form(activation, cls) -> None:
    model = build("vgg11").eval()
    x = torch.randn(2, 3, 32, 32)
    lk, report = linkify(model, activation, example_input=x, preserve_function=False)
    assert report.linked == 10
    assert sum(isinstance(m, cls) for m in lk.modules()) == 10
    # the new input columns are initialised (not zero)
    weight = lk.get_submodule("features.3").weight
    assert weight[:, 8:].abs().sum() > 0
    torch.testing.assert_close(weight[:, :8], model.features[3].weight)


def test_preserve_leaves_activations_of_another_kind() -> None:
    model = build("resnet18")
    _, report = linkify(model, "lk-selu", example_input=torch.randn(1, 3, 32, 32))
    assert report.linked == 0 and report.left == 17
    assert "lk-selu's first half (selu)" in report.activations[0].reason


def test_prelu_slopes_kept_for_the_first_half() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(4), nn.Conv2d(4, 2, 1)).eval()
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([0.1, -0.3, 0.7, 2.0]))
    x = torch.randn(2, 3, 8, 8)
    lk, report = linkify(model, "lk-prelu", example_input=x)
    assert report.linked == 1
    torch.testing.assert_close(lk.get_submodule("1").slope_pos, model[1].weight)
    torch.testing.assert_close(lk(x), model(x), atol=1e-6, rtol=1e-6)


class Functional(nn.Module):
    """Functional and in-place spellings; one in-place call on a tensor read again."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3)
        self.c3 = nn.Conv2d(4, 4, 1)
        self.c4 = nn.Conv2d(4, 4, 1)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.c1(x), inplace=True)  # linked (through the padding)
        y = torch.relu(self.c2(F.pad(y, (1, 1, 1, 1))))  # left: sliced before c3
        z = self.c3(y[:, :2].repeat(1, 2, 1, 1))
        z.relu_()  # in place on z, and z is read again below: left
        w = self.c4(z).relu_()  # linked (through max-pool and flatten)
        w = torch.flatten(F.max_pool2d(w, 2), 1)
        return self.fc(w) + F.silu(z).mean()


def test_functional_and_in_place_forms() -> None:
    model = Functional().eval()
    x = torch.randn(2, 3, 8, 8)
    lk, report = linkify(model, "lk-relu", example_input=x)
    sites = entries(report)
    assert sites["F.relu at relu"][0]
    assert sites["torch.relu at relu_1"] == (False, "it feeds operator.getitem (getitem)")
    assert sites["tensor.relu_ at relu_"] == (
        False,
        "it runs in place on a tensor that other ops also read",
    )
    assert sites["tensor.relu_ at relu__1"][0]
    assert "lk-relu's first half (relu)" in sites["F.silu at silu"][1]
    torch.testing.assert_close(lk(x), model(x), atol=1e-6, rtol=1e-6)


def test_shared_consumer_and_model_output_are_left() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)
            self.act = nn.ReLU()
            self.shared = nn.Conv2d(4, 4, 1)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = self.act(self.a(x))
            return self.shared(h), self.act(self.shared(h))

    _, report = linkify(Shared(), example_input=torch.randn(1, 3, 4, 4))
    sites = entries(report)
    assert "called more than once" in sites["act (call 1 of 2)"][1]
    assert sites["act (call 2 of 2)"] == (False, "it is a model output")


def test_untraceable_model_is_refused_naming_the_construct() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(3, 3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:
                return torch.relu(self.c(x))
            return x

    with pytest.raises(LinkifyError, match="cannot be used as inputs to control flow"):
        linkify(Branchy(), example_input=torch.randn(1, 3, 4, 4))


def test_unknown_activation_and_bad_example_are_refused() -> None:
    from linkedonnx.errors import BadInputError

    with pytest.raises(BadInputError, match="unknown linked activation"):
        linkify(build("vgg11"), "lk-mish", example_input=torch.randn(1, 3, 32, 32))
    with pytest.raises(LinkifyError, match="does not run through the model"):
        linkify(build("vgg11"), example_input=torch.randn(1, 5, 32, 32))


def test_linkified_resnet18_trains_on_digits() -> None:
    from linkedonnx import data

    digits = data.load("digits")
    torch.manual_seed(0)
    model = resnet18(in_channels=digits.in_channels, num_classes=digits.num_classes)
    images, labels = digits.split(train=True)
    x = digits.prepare(images[:32])
    lk, report = linkify(model, "lk-relu", example_input=x)
    assert report.linked == 12
    lk.train()
    optimizer = torch.optim.Adam(lk.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(20):
        idx = torch.randint(0, len(labels), (64,), generator=g)
        loss = F.cross_entropy(lk(digits.prepare(images[idx])), labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5, losses
    # the second half's weights moved away from zero: the linked units learn
    assert lk.fc.weight[:, 64:].abs().max() > 0


def test_new_modules_follow_the_models_dtype() -> None:
    model = build("vgg11").double().eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    lk, _ = linkify(model, "lk-prelu", example_input=x, preserve_function=False)
    dtypes = {p.dtype for p in lk.parameters()}
    assert dtypes == {torch.float64}
    assert lk(x).dtype == torch.float64


def test_flatten_must_start_at_the_channels() -> None:
    class Rows(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 1, 1)
            self.fc = nn.Linear(5, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # (N, 1, 1, 5) -> (N, 5): the same shape as flatten(x, 1), other dims merged
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 0, 2))

    _, report = linkify(Rows(), example_input=torch.randn(2, 3, 1, 5))
    assert report.activations[0].linked is False
    assert "does not flatten from the channels" in report.activations[0].reason


def test_new_module_names_do_not_replace_existing_attributes() -> None:
    class Taken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.relu_linked = nn.Conv2d(4, 4, 1)  # the name a linked F.relu would take

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu_linked(F.relu(self.conv(x)))

    model = Taken().eval()
    x = torch.randn(2, 3, 4, 4)
    lk, report = linkify(model, example_input=x)
    assert report.linked == 1
    assert isinstance(lk.get_submodule("relu_linked_2"), LinkedReLU)
    assert lk.get_submodule("relu_linked").in_channels == 8
    torch.testing.assert_close(lk(x), model(x), atol=1e-6, rtol=1e-6)


class NormAfter(nn.Module):
    """Activations followed by batch norm (pre-activation style), a zero pad, and a
    Linear applied over the width axis of a feature map."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.act1 = nn.ReLU()
        self.bn1 = nn.BatchNorm2d(4)
        self.pad = nn.ZeroPad2d(1)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.act2 = nn.ReLU()
        self.rowwise = nn.Linear(6, 6)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(6 * 6 * 6, 5)
        self.act3 = nn.ReLU()
        self.bn3 = nn.BatchNorm1d(5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.pad(self.bn1(self.act1(self.conv1(x)))))
        h = self.rowwise(self.act2(h))  # Linear over the last axis of (N, C, H, W)
        return self.fc2(self.bn3(self.act3(self.fc1(self.flatten(h)))))


@pytest.mark.parametrize("train_mode", [False, True])
def test_batch_norm_between_is_widened_with_an_identity_second_half(train_mode: bool) -> None:
    torch.manual_seed(0)
    model = randomize_batch_norms(NormAfter()).train(train_mode)
    x = torch.randn(8, 3, 8, 8)
    lk, report = linkify(model, example_input=x)
    sites = entries(report)
    assert sites["act1"] == (True, "its output reaches only conv2")
    assert sites["act3"] == (True, "its output reaches only fc2")
    assert "over the last axis of a rank-4 tensor" in sites["act2"][1]
    bn1, bn3 = lk.get_submodule("bn1"), lk.get_submodule("bn3")
    assert (bn1.num_features, bn3.num_features) == (8, 10)
    torch.testing.assert_close(bn1.running_var[:4], model.bn1.running_var)
    torch.testing.assert_close(bn1.running_var[4:], torch.ones(4))
    torch.testing.assert_close(bn1.weight[4:], torch.ones(4))
    reference = copy.deepcopy(model)
    torch.testing.assert_close(lk(x), reference(x), atol=1e-5, rtol=1e-5)
    if train_mode:  # the first half's batch statistics moved exactly as the original's
        torch.testing.assert_close(bn1.running_mean[:4], reference.bn1.running_mean)
