"""Data-parallel set-up from torchrun's environment variables, and the device to use.

Under ``torchrun --nproc_per_node=N`` (WORLD_SIZE > 1) the process group is created
from the environment (nccl on CUDA, gloo on the CPU); otherwise the run is a single
process. Only rank 0 writes files.
"""

from __future__ import annotations

import gc
import importlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from linkedonnx.errors import BadInputError, MissingDependencyError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run: rank, world size and device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on the process that writes files and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when several processes train together."""
        return self.world_size > 1


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """'auto' -> CUDA when available else CPU; 'cuda' -> this rank's GPU.

    Raises MissingDependencyError when CUDA is asked for but unavailable and
    BadInputError for an unknown name.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise MissingDependencyError("--device cuda: no CUDA device is available to torch")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    raise BadInputError(f"unknown device {device!r}; expected auto, cpu or cuda")


def setup(device: str) -> DistContext:
    """Read torchrun's RANK/WORLD_SIZE/LOCAL_RANK, create the process group when the
    world has more than one process, and return the context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        # torch._dynamo, imported lazily by the first optimizer and by DDP, keeps ten
        # references to the default process group when it is first imported while one
        # exists (torch 2.13): destroy_process_group then cannot free the group, gloo's
        # worker and TCP threads run on until the process exits, and a rank leaving with
        # them alive sometimes aborts ("terminate called without an active exception").
        # Imported before the group exists, it holds none.
        importlib.import_module("torch._dynamo")

        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistContext(rank=rank, world_size=world, device=dev)


def teardown(ctx: DistContext) -> None:
    """Destroy the process group created by :func:`setup`. Call it once nothing holds
    the group any more (drop DistributedDataParallel wrappers first): only then does
    the group stop its threads (gloo's workers and TCP loop) before the process ends."""
    if ctx.distributed and dist.is_initialized():
        gc.collect()  # wrappers caught in reference cycles let go of the group too
        dist.destroy_process_group()


def all_sum(values: list[float], ctx: DistContext) -> list[float]:
    """Sum ``values`` over all ranks (identity for a single process)."""
    if not ctx.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return t.tolist()


def broadcast_flag(flag: bool, ctx: DistContext) -> bool:
    """Rank 0's ``flag`` on every rank (so all ranks stop together)."""
    if not ctx.distributed:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=ctx.device)
    dist.broadcast(t, src=0)
    return bool(t.item())
