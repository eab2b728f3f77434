"""Synthetic image data for tests: one random prototype per class plus noise (seeded)."""

from __future__ import annotations

import torch

from linkedonnx.data.base import ImageData


def load_synthetic_data(
    image_size: int = 8,
    in_channels: int = 1,
    num_classes: int = 4,
    train_size: int = 128,
    test_size: int = 64,
    seed: int = 0,
) -> ImageData:
    """Return learnable random uint8 images (class prototype + noise), the same for a seed."""
    g = torch.Generator().manual_seed(seed)
    shape = (in_channels, image_size, image_size)
    prototypes = torch.rand((num_classes, *shape), generator=g) * 200.0

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, num_classes, (n,), generator=g)
        noise = torch.randn((n, *shape), generator=g) * 30.0
        images = (prototypes[labels] + noise + 28.0).clamp(0, 255).round().to(torch.uint8)
        return images, labels

    train_x, train_y = make(train_size)
    test_x, test_y = make(test_size)
    return ImageData(
        name="synthetic",
        train_images=train_x,
        train_labels=train_y,
        test_images=test_x,
        test_labels=test_y,
        num_classes=num_classes,
        scale=255.0,
        image_size=image_size,
    )
