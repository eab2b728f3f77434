"""Linkify a network of your own: a ResNet-18 (torchvision's topology, widths / 8).

Train the plain ResNet-18 briefly on the embedded digits, turn its activations into
LK-ReLU with ``linkify`` (it computes exactly what it computed), fine-tune the linked
network, save and reload its weights, export it with its linked activations kept as
ONNX functions, optimize it for the CPU and validate it against PyTorch.

    python examples/linkify_resnet.py [OUT_DIR] [--tiny]

(``--tiny`` or LINKEDONNX_EXAMPLE_TINY=1 makes it a few-second smoke run.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from linkedonnx import data
from linkedonnx.export import export_model
from linkedonnx.linkify import linkify
from linkedonnx.onnx_io import save_model
from linkedonnx.passes.optimize import optimize
from linkedonnx.runtime.compare import compare
from linkedonnx.runtime.session import make_session


# -- the user's network: torchvision's ResNet-18, every width divided by 8 -------------
class BasicBlock(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)  # called twice in forward, as in torchvision
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, widths=(8, 16, 32, 64)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], widths[0]
        for i, planes in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(
                nn.Sequential(BasicBlock(cin, planes, stride), BasicBlock(planes, planes))
            )
            cin = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def fit(model: nn.Module, digits: data.ImageData, steps: int, seed: int) -> float:
    """``steps`` Adam steps on random train batches of 64; returns the last loss."""
    images, labels = digits.split(train=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    model.train()
    loss = torch.zeros(())
    for _ in range(steps):
        idx = torch.randint(0, len(labels), (64,), generator=g)
        loss = F.cross_entropy(model(digits.prepare(images[idx])), labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def accuracy(model: nn.Module, digits: data.ImageData) -> float:
    """Test accuracy (eval mode)."""
    images, labels = digits.split(train=False)
    model.eval()
    return float((model(digits.prepare(images)).argmax(1) == labels).float().mean())


def main(out: Path, tiny: bool) -> float:
    """Run the example into ``out``; return the max parity error of the optimized ONNX."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    digits = data.load("digits")
    steps = 5 if tiny else 200

    # 1. The network as you have it: a plain ResNet-18, trained briefly.
    plain = ResNet18(digits.in_channels, digits.num_classes)
    fit(plain, digits, steps, seed=0)
    print(f"plain ResNet-18: test accuracy {accuracy(plain, digits):.3f}")

    # 2. Linkify: per call site, activations whose output reaches only convs/linears
    #    become LK-ReLU, their consumers take twice the inputs (new weights zero).
    images, _ = digits.split(train=False)
    x = digits.prepare(images[:256])
    linked, report = linkify(plain.eval(), "lk-relu", example_input=x[:1])
    print(report.summary())
    for entry in report.activations:
        print(f"  {'linked' if entry.linked else 'left  '} {entry.site}: {entry.reason}")
    with torch.no_grad():
        same = float((linked.eval()(x) - plain(x)).abs().max())
    print(f"max |linkified - plain| = {same:.2e} (the function is preserved)")

    # 3. Fine-tune the linked network from there.
    loss = fit(linked, digits, steps, seed=1)
    print(f"fine-tuned {steps} steps (last loss {loss:.3f}): "
          f"test accuracy {accuracy(linked, digits):.3f}")  # fmt: skip

    # 4. Save the weights; reload them into linkify(a fresh ResNet18(), same options).
    save_file(linked.state_dict(), str(out / "linked.safetensors"))
    reloaded, _ = linkify(
        ResNet18(digits.in_channels, digits.num_classes), "lk-relu", example_input=x[:1]
    )
    reloaded.load_state_dict(load_file(str(out / "linked.safetensors")))
    reloaded.eval()

    # 5. Export with every linked activation as a function, optimize for the CPU.
    exported = export_model(reloaded, (1, *x.shape[1:]), out / "linked.onnx", source="example")
    print(f"exported with functions: {exported.calls}")
    optimized, _ = optimize(exported.model, target="cpu")
    save_model(optimized, out / "linked.optimized.onnx")

    # 6. Validate: the optimized model in ONNX Runtime against the network in PyTorch.
    session = make_session(out / "linked.optimized.onnx")
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy().astype(np.float32)})
    with torch.inference_mode():
        want = linked.eval()(x).numpy()
    result = compare("output", got, want)
    print(f"max |optimized ONNX - PyTorch| = {result.max_abs:.2e} "
          f"({'pass' if result.passed else 'FAIL'})")  # fmt: skip
    return result.max_abs if result.passed else float("inf")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--tiny"]
    tiny = "--tiny" in sys.argv or os.environ.get("LINKEDONNX_EXAMPLE_TINY") == "1"
    folder = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="linkedonnx-linkify-"))
    max_error = main(folder, tiny)
    print(f"artifacts in {folder}")
    sys.exit(0 if max_error <= 1e-4 else 1)
