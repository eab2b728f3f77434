"""Data-parallel training under torchrun (2 CPU processes, gloo) equals single-process
training on the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from linkedonnx.checkpoint import load_checkpoint
from linkedonnx.train import TrainConfig, train
from linkedonnx.train.sampling import epoch_permutation, global_batches, shard

ARGS = [
    "train",
    "--model",
    "width/lk-relu",
    "--data",
    "synthetic",
    "--epochs",
    "1",
    "--batch",
    "32",
    "--lr",
    "0.05",
    "--optimizer",
    "sgd",
    "--device",
    "cpu",
    "--max-steps",
    "3",
]


def test_shards_cover_each_global_batch_once() -> None:
    order = epoch_permutation(100, seed=3, epoch=1)
    for batch in global_batches(order, 32):
        parts = [shard(batch, r, 3) for r in range(3)]
        assert sorted(torch.cat(parts).tolist()) == sorted(batch.tolist())
    assert torch.equal(order, epoch_permutation(100, seed=3, epoch=1))
    assert not torch.equal(order, epoch_permutation(100, seed=3, epoch=2))


def test_torchrun_two_processes_equal_single_process(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "linkedonnx_cli",
        *ARGS,
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    single = train(
        TrainConfig(
            model="width/lk-relu",
            data="synthetic",
            epochs=1,
            batch_size=32,
            lr=0.05,
            optimizer="sgd",
            device="cpu",
            max_steps=3,
        )
    )
    ddp = load_checkpoint(out / "checkpoint.safetensors")
    assert ddp.info["steps"] == 3
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(ddp.state_dict[key], value, rtol=1e-5, atol=1e-6)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 1  # rank 0 alone writes
    assert abs(lines[0]["loss"] - single.metrics[0]["loss"]) < 1e-5
    assert lines[0]["train_accuracy"] == single.metrics[0]["train_accuracy"]
