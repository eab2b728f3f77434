"""Which samples each step sees: one seeded permutation per epoch, cut into global
batches, each global batch split across data-parallel ranks.

Rank ``r`` of ``w`` takes ``batch[r::w]``, so the ranks of a step together see exactly
the global batch a single process sees: data-parallel training equals single-process
training on the same global batch. (torch's DistributedSampler pads the dataset with
repeated samples to a multiple of the world size, which breaks that equality.)
"""

from __future__ import annotations

import torch
from torch import Tensor


def epoch_permutation(n: int, seed: int, epoch: int) -> Tensor:
    """The sample order of ``epoch`` (0-based): a permutation of ``range(n)`` fixed by
    (seed, epoch), the same recipe as DistributedSampler's."""
    g = torch.Generator().manual_seed(seed + epoch)
    return torch.randperm(n, generator=g)


def global_batches(order: Tensor, batch_size: int) -> list[Tensor]:
    """Cut ``order`` into consecutive batches of ``batch_size`` (the last may be smaller)."""
    return list(torch.split(order, batch_size))


def shard(batch: Tensor, rank: int, world_size: int) -> Tensor:
    """The part of a global ``batch`` that ``rank`` of ``world_size`` computes."""
    return batch[rank::world_size]


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Number of global batches in an epoch of ``n`` samples."""
    return (n + batch_size - 1) // batch_size
