"""Shared test settings: deterministic torch on few threads."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

torch.manual_seed(0)
torch.set_num_threads(1)
