"""ImageData: a dataset held in memory as tensors, plus how to turn a batch into model input.

Images are kept in their stored dtype (uint8 for CIFAR-10, small ints for digits) and
converted batch by batch by :meth:`ImageData.prepare`, which calls the torch-free
:func:`linkedonnx.arrays.preprocess.apply` (divided by ``scale``, the paper's "only
divided by 255"; optionally standardized with the per-channel mean and std of the train
split; resized to ``image_size``), so training and the ONNX side prepare data alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from linkedonnx.arrays.datasets import RawData
from linkedonnx.arrays.preprocess import Preprocess, apply, channel_stats


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

    @classmethod
    def from_raw(cls, raw: RawData, image_size: int) -> ImageData:
        """Wrap torch-free stored arrays (:class:`RawData`) as tensors at ``image_size``."""
        return cls(
            name=raw.name,
            train_images=torch.from_numpy(raw.train_images),
            train_labels=torch.from_numpy(raw.train_labels),
            test_images=torch.from_numpy(raw.test_images),
            test_labels=torch.from_numpy(raw.test_labels),
            num_classes=raw.num_classes,
            scale=raw.scale,
            image_size=image_size,
        )

    @property
    def in_channels(self) -> int:
        """Number of image channels."""
        return int(self.train_images.shape[1])

    @property
    def standardized(self) -> bool:
        """True when :meth:`prepare` standardizes its inputs."""
        return self.mean is not None

    @property
    def preprocess(self) -> Preprocess:
        """This data's preprocessing as the torch-free record exports write to models."""
        mean = None if self.mean is None else tuple(float(v) for v in self.mean)
        std = None if self.std is None else tuple(float(v) for v in self.std)
        return Preprocess(self.name, self.scale, mean, std, self.image_size, self.in_channels)

    def prepare(self, images: Tensor) -> Tensor:
        """Turn stored images [N, C, H, W] into float32 model input (scaled, optionally
        standardized, resized to ``image_size`` with bilinear interpolation)."""
        return torch.from_numpy(apply(images.cpu().numpy(), self.preprocess))

    def standardize(self) -> ImageData:
        """Set ``mean``/``std`` from the train split (per channel, after scaling); returns self."""
        mean, std = channel_stats(self.train_images.numpy(), self.scale)
        self.mean = torch.tensor(mean, dtype=torch.float32)
        self.std = torch.tensor(std, dtype=torch.float32)
        return self

    def split(self, train: bool) -> tuple[Tensor, Tensor]:
        """Return (images, labels) of the train or test split."""
        if train:
            return self.train_images, self.train_labels
        return self.test_images, self.test_labels
