"""Data-parallel training under torchrun (2 CPU processes, gloo) equals single-process
training on the same global batch."""

from __future__ import annotations

import json
import os
import signal
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


def _rank_logs(log_dir: Path, lines: int = 40) -> str:
    """Each rank's own stdout/stderr (torchrun's --log-dir with --redirects), last lines."""
    parts = []
    for path in sorted(log_dir.rglob("*.log")):
        text = path.read_text(errors="replace").splitlines()
        parts.append(f"--- {path.relative_to(log_dir)} (last {lines} lines)")
        parts.extend(text[-lines:])
    return "\n".join(parts) or f"(no rank logs under {log_dir})"


def _torchrun(target: list[str], logs: Path, timeout: float = 180) -> None:
    """Run ``torchrun --standalone --nproc_per_node=2 TARGET`` and assert it succeeds;
    a failure shows the launcher's stderr and each rank's own last lines.

    The launcher gets a session of its own, which is killed whole on a time-out, so no
    rank outlives the test (torchrun itself waits for its ranks). --standalone binds its store
    to a free port (localhost:0) and gloo its pairs to ephemeral ports: nothing fixed
    that a neighbouring test could hold. faulthandler prints every thread's Python
    stack when a rank dies of a signal."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "--log-dir",
        str(logs),
        "--redirects",
        "3",
        *target,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # the launcher is not reaped yet, so its session id names its own processes
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, f"{err[-3000:]}\n{_rank_logs(logs)}"


def test_torchrun_two_processes_equal_single_process(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    _torchrun(["-m", "linkedonnx_cli", *ARGS, "--out", str(out)], tmp_path / "logs")
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


_THREADS_AFTER_TRAIN = """
import json, os, sys
from pathlib import Path
from linkedonnx.train import TrainConfig, train
train(TrainConfig(model="width/lk-relu", data="synthetic", epochs=1, batch_size=32,
                  lr=0.05, optimizer="sgd", device="cpu", max_steps=2, progress=False))
names = sorted(p.read_text().strip() for p in Path("/proc/self/task").glob("*/comm"))
Path(sys.argv[1], "threads-" + os.environ["RANK"] + ".json").write_text(json.dumps(names))
"""


def test_training_under_torchrun_leaves_no_gloo_thread_running(tmp_path: Path) -> None:
    """The cause of the torchrun test's chance failures: torch._dynamo, first imported
    by the optimizer while the process group existed, kept references to the group, so
    destroy_process_group left gloo's worker and TCP loop threads running, and a rank
    leaving with them alive sometimes aborted at exit (SIGABRT). After train() returns,
    every rank must be back to no gloo thread at all."""
    script = tmp_path / "threads_after_train.py"
    script.write_text(_THREADS_AFTER_TRAIN)
    _torchrun([str(script), str(tmp_path)], tmp_path / "logs")
    for rank in (0, 1):
        names = json.loads((tmp_path / f"threads-{rank}.json").read_text())
        assert not [n for n in names if "gloo" in n], (rank, names)
