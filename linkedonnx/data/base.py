"""ImageData: a dataset held in memory as tensors, plus how to turn a batch into model input.

Images are kept in their stored dtype (uint8 for CIFAR-10, small ints for digits) and
converted batch by batch by :meth:`ImageData.prepare`: divided by ``scale`` (the
paper's "only divided by 255"), optionally standardized with the per-channel mean
and std of the train split, and resized to ``image_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class ImageData:
    """Train and test splits of an image classification dataset (NCHW images).

    ``scale`` maps stored values to 0..1; ``mean``/``std`` (shape [C]) are set when the
    inputs are standardized; ``image_size`` is the side the model sees.
    """

    name: str
    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    num_classes: int
    scale: float
    image_size: int
    mean: Tensor | None = None
    std: Tensor | None = None

    @property
    def in_channels(self) -> int:
        """Number of image channels."""
        return int(self.train_images.shape[1])

    @property
    def standardized(self) -> bool:
        """True when :meth:`prepare` standardizes its inputs."""
        return self.mean is not None

    def prepare(self, images: Tensor) -> Tensor:
        """Turn stored images [N, C, H, W] into float32 model input (scaled, optionally
        standardized, resized to ``image_size`` with bilinear interpolation)."""
        x = images.to(torch.float32) / self.scale
        if self.mean is not None and self.std is not None:
            x = (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(
                x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False
            )
        return x

    def standardize(self) -> ImageData:
        """Set ``mean``/``std`` from the train split (per channel, after scaling); returns self."""
        x = self.train_images.to(torch.float64) / self.scale
        self.mean = x.mean(dim=(0, 2, 3)).to(torch.float32)
        self.std = x.std(dim=(0, 2, 3)).clamp_min(1e-6).to(torch.float32)
        return self

    def split(self, train: bool) -> tuple[Tensor, Tensor]:
        """Return (images, labels) of the train or test split."""
        if train:
            return self.train_images, self.train_labels
        return self.test_images, self.test_labels
