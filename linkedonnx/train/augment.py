"""Training-batch augmentation as the authors' ResNet runs did it.

``tests/test_article/test_nobatchnorm.py`` of ``blauigris/linked_neurons`` trains through
Keras 2's ``ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
horizontal_flip=True)``: per image, a left-right flip with probability 1/2 and a shift
drawn uniformly from [-0.1, 0.1] of the side along each axis. Keras applies the shift
with ``scipy.ndimage.affine_transform(order=0, mode='nearest')``: the shift is rounded
to whole pixels and the uncovered border repeats the edge pixel, which is what
:func:`flip_and_shift` does (by clamping the source index).

The draws come from a generator seeded by (run seed, epoch, step), so a run is
reproducible and a resumed run draws what an uninterrupted one would have.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

#: Keras' ``width_shift_range`` / ``height_shift_range`` in the authors' ResNet runs.
SHIFT_FRACTION = 0.1


def batch_generator(seed: int, epoch: int, step: int) -> torch.Generator:
    """A CPU generator fixed by (``seed``, ``epoch``, ``step``), independent of the
    global RNG."""
    state = np.random.SeedSequence([seed, epoch, step]).generate_state(1, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0]) & (2**63 - 1))


def flip_and_shift(
    images: Tensor, generator: torch.Generator, shift_fraction: float = SHIFT_FRACTION
) -> Tensor:
    """A new batch: each image of ``images`` [N, C, H, W] flipped left-right with
    probability 1/2, then shifted by round(u * side) pixels, u uniform in
    [-``shift_fraction``, ``shift_fraction``], on each axis, the edge pixel filling the
    border (Keras' ``fill_mode='nearest'``). Raises ValueError for a batch that is not
    4-D or a negative ``shift_fraction``."""
    if images.dim() != 4:
        raise ValueError(f"expected images [N, C, H, W], got shape {tuple(images.shape)}")
    if shift_fraction < 0:
        raise ValueError(f"shift_fraction must be >= 0, got {shift_fraction}")
    n, _, height, width = images.shape
    flip = torch.rand(n, generator=generator) < 0.5
    shifts = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift_fraction
    dy = torch.round(shifts[:, 0] * height).long()
    dx = torch.round(shifts[:, 1] * width).long()
    cols = torch.arange(width).expand(n, width)
    cols = torch.where(flip[:, None], width - 1 - cols, cols)  # flip first, then shift
    cols = torch.gather(cols, 1, (torch.arange(width) - dx[:, None]).clamp(0, width - 1))
    rows = (torch.arange(height) - dy[:, None]).clamp(0, height - 1)
    batch = torch.arange(n)[:, None, None]
    # [N, H, W, C] from advanced indexing on N, H and W; back to [N, C, H, W]
    out = images.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()
