"""The training loop: ``train(TrainConfig) -> TrainResult``.

Single process or data-parallel under torchrun (DistributedDataParallel); CUDA when
available (``device='auto'``), mixed precision (fp16 + GradScaler on CUDA, bf16 autocast
on the CPU), optional torch.compile. On the CPU a run is deterministic: the same seed
gives the same metrics and weights, and a resumed run equals an uninterrupted one
(sample order is fixed by (seed, epoch); optimizer state, RNG state and the progress
of a partial epoch are saved in the checkpoint).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from linkedonnx import checkpoint as ckpt_io
from linkedonnx import data as data_mod
from linkedonnx.atomic import write_text_atomic
from linkedonnx.data import ImageData
from linkedonnx.errors import BadInputError
from linkedonnx.linkify.options import LinkifyOptions
from linkedonnx.train import distributed as dist_mod
from linkedonnx.train import outputs
from linkedonnx.train.augment import batch_generator, flip_and_shift
from linkedonnx.train.config import TrainConfig
from linkedonnx.train.dead_units import count_dead_units
from linkedonnx.train.init import initialize
from linkedonnx.train.sampling import epoch_permutation, global_batches, shard
from linkedonnx.train.state import pack_state, unpack_state
from linkedonnx.zoo import ModelSpec


@dataclass
class TrainResult:
    """What a run produced: the spec, the trained (unwrapped) model, one metrics dict
    per epoch, the total optimizer steps and the output folder (None if nothing written)."""

    spec: ModelSpec
    model: nn.Module
    metrics: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    out: Path | None = None

    @property
    def best_test_accuracy(self) -> float:
        """Best test accuracy over the logged epochs (0 when none)."""
        return max((m["test_accuracy"] for m in self.metrics), default=0.0)

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's metrics (empty when none)."""
        return self.metrics[-1] if self.metrics else {}


def make_optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """The optimizer ``config.optimizer`` names, at ``config.lr``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    if config.optimizer == "adam-keras":
        from linkedonnx.train.keras_adam import KerasAdam

        return KerasAdam(params, lr=config.lr, decay=config.lr_decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.lr)
    raise BadInputError(f"unknown optimizer {config.optimizer!r}")


def build_model(config: TrainConfig, data: ImageData) -> tuple[ModelSpec, nn.Module]:
    """The zoo model for ``config.model`` at the data's geometry (in Keras' layer form
    with ``config.keras_layers``, :func:`~linkedonnx.zoo.keras_form.to_keras_form`),
    initialised from the seed by ``config.init``."""
    from linkedonnx.zoo import build

    spec = ModelSpec(
        name=config.model,
        in_channels=data.in_channels,
        image_size=data.image_size,
        num_classes=data.num_classes,
    )
    torch.manual_seed(config.seed)
    model = build(spec)
    if config.keras_layers:
        from linkedonnx.zoo.keras_form import to_keras_form
        from linkedonnx.zoo.naming import parse_name

        family = parse_name(spec.name).family
        model = to_keras_form(model, spec.input_shape(1)[1:], family=family)
    return spec, initialize(model, config.init)


def load_start(
    config: TrainConfig, data: ImageData
) -> tuple[ModelSpec, nn.Module, LinkifyOptions | None]:
    """The model of checkpoint ``config.from_checkpoint`` with its weights (its spec,
    model and linkify options); the data's geometry must be the checkpoint's. Raises
    BadInputError for a bad checkpoint or a geometry that disagrees."""
    path = config.from_checkpoint
    assert path is not None
    model, ckpt = ckpt_io.load_model(path)
    spec = ckpt.spec
    given = (data.in_channels, data.image_size, data.num_classes)
    if given != (spec.in_channels, spec.image_size, spec.num_classes):
        raise BadInputError(
            f"{path} holds a model for {spec.in_channels} channels, {spec.image_size}x"
            f"{spec.image_size} images and {spec.num_classes} classes; data {config.data!r} "
            f"gives {given[0]} channels, {given[1]}x{given[1]} and {given[2]} classes"
        )
    return spec, model, ckpt.linkify


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    if not enabled:
        return contextlib.nullcontext()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


@torch.no_grad()
def evaluate(
    model: nn.Module, data: ImageData, device: torch.device, batch_size: int, amp: bool = False
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on the test split (eval mode)."""
    was_training = model.training
    model.eval()
    images, labels = data.split(train=False)
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        x = data.prepare(images[start : start + batch_size]).to(device)
        y = labels[start : start + batch_size].to(device)
        with _autocast(device, amp):
            logits = model(x)
        loss_sum += float(F.cross_entropy(logits.float(), y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    model.train(was_training)
    n = max(len(labels), 1)
    return loss_sum / n, correct / n


def dead_unit_batches(data: ImageData, samples: int | None, batch_size: int, device: torch.device):
    """The first ``samples`` (None: all) train images, fixed order, as prepared batches."""
    images = data.train_images[:samples]
    for start in range(0, len(images), batch_size):
        yield data.prepare(images[start : start + batch_size]).to(device)


class _Run:
    """State of one run (kept in an object so the loop reads top to bottom)."""

    def __init__(self, config: TrainConfig, ctx: dist_mod.DistContext) -> None:
        self.config = config
        self.ctx = ctx
        self.out = config.out_path if ctx.is_main else None
        image_size = config.image_size
        folder = config.out_path  # every rank reads it: the data must agree across ranks
        resumed = folder / outputs.CHECKPOINT if config.resume and folder else None
        start = config.from_checkpoint or (resumed if resumed and resumed.exists() else None)
        if start is not None and image_size is None:
            # a checkpoint fixes the input size (the one --from starts from, or the one
            # --resume continues): the data follows it unless told otherwise
            image_size = ckpt_io.load_checkpoint(start).spec.image_size
        self.data = data_mod.load(
            config.data,
            image_size=image_size,
            standardize=config.standardize,
            data_dir=config.data_dir,
            download=config.download and ctx.is_main,
        )
        if config.train_subset is not None:
            from linkedonnx.data.subset import stratified_subset

            self.data = stratified_subset(self.data, config.train_subset)
        self.linkify: LinkifyOptions | None = None
        if config.from_checkpoint is not None:
            self.spec, self.model, self.linkify = load_start(config, self.data)
        else:
            self.spec, self.model = build_model(config, self.data)
        self.model.to(ctx.device)
        self.optimizer = make_optimizer(config, self.model.parameters())
        amp_cuda = config.amp and ctx.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp_cuda)
        self.metrics: list[dict[str, Any]] = []
        self.epoch = 0  # completed epochs
        self.step_in_epoch = 0  # steps done in the epoch in progress
        self.steps = 0
        self.partial = {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
        self.best = -1.0
        self.timestamps: dict[str, float] = {}  # wall clock of the epoch in progress
        self.forward = self._wrap(self.model)

    def _wrap(self, model: nn.Module) -> nn.Module:
        wrapped = model
        if self.ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=ids)
        if self.config.compile:
            wrapped = torch.compile(wrapped)
        return wrapped

    def release(self) -> None:
        """Drop the data-parallel wrapper: DistributedDataParallel holds the process
        group, which can only stop its threads once nothing holds it."""
        self.forward = self.model

    # -- resume ----------------------------------------------------------------------
    def restore(self, path: Path) -> None:
        """Continue from checkpoint ``path`` (BadInputError when corrupt or mismatched)."""
        saved = ckpt_io.load_checkpoint(path)
        if saved.spec != self.spec or saved.linkify != self.linkify:
            raise BadInputError(
                f"{path} was written for {ckpt_io.spec_json(saved.spec, saved.linkify)}, "
                f"not {ckpt_io.spec_json(self.spec, self.linkify)}"
            )
        try:
            self.model.load_state_dict(saved.state_dict, strict=True)
        except RuntimeError:
            raise BadInputError(f"{path}: weights do not match model {self.spec.name}") from None
        info = saved.info
        unpack_state(saved.extra_tensors, info.get("optimizer", {}), self.optimizer, self.scaler)
        self.epoch = int(info.get("epoch", 0))
        self.step_in_epoch = int(info.get("step_in_epoch", 0))
        self.steps = int(info.get("steps", 0))
        self.partial = dict(info.get("partial", self.partial))
        self.best = float(info.get("best_test_accuracy", -1.0))
        if self.out is not None:
            lines = outputs.read_metrics(self.out / outputs.METRICS)
            self.metrics = [m for m in lines if m["epoch"] <= self.epoch and not m.get("partial")]

    def save(self, best: bool) -> None:
        """Write the latest checkpoint (and best weights) atomically; rank 0 only."""
        if self.out is None:
            return
        tensors, optim_meta = pack_state(self.optimizer, self.scaler)
        info = {
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "steps": self.steps,
            "partial": self.partial,
            "best_test_accuracy": self.best,
            "optimizer": optim_meta,
            "config": self.config.to_dict(),
            "metrics": self.metrics[-1] if self.metrics else {},
            "preprocess": self.data.preprocess.to_dict(),
        }
        state = self.model.state_dict()
        ckpt_io.save_checkpoint(
            self.out / outputs.CHECKPOINT, self.spec, state, info, tensors, linkify=self.linkify
        )
        if best:
            ckpt_io.save_checkpoint(
                self.out / outputs.BEST,
                self.spec,
                state,
                {"metrics": self.metrics[-1], "preprocess": self.data.preprocess.to_dict()},
                linkify=self.linkify,
            )

    # -- one epoch -------------------------------------------------------------------
    def run_epoch(self, deadline: float | None, progress: Any) -> bool:
        """Train the epoch in progress (from ``step_in_epoch``); return True when it was
        cut short by max_steps or the time budget."""
        cfg, ctx = self.config, self.ctx
        images, labels = self.data.split(train=True)
        order = (
            epoch_permutation(len(labels), cfg.seed, self.epoch)
            if cfg.shuffle
            else torch.arange(len(labels))
        )
        batches = global_batches(order, cfg.batch_size)
        self.model.train()
        task = (
            progress.add_task(f"epoch {self.epoch + 1}", total=len(batches)) if progress else None
        )
        if progress:
            progress.update(task, completed=self.step_in_epoch)
        stopped = False
        self.timestamps = {"start": time.time()}
        start = time.perf_counter()
        for batch in batches[self.step_in_epoch :]:
            idx = shard(batch, ctx.rank, ctx.world_size)
            if cfg.augment:  # drawn for the global batch: each rank gets its share of it
                draws = batch_generator(cfg.seed, self.epoch, self.step_in_epoch)
                whole = flip_and_shift(self.data.prepare(images[batch]), draws)
                x = shard(whole, ctx.rank, ctx.world_size).to(ctx.device)
            else:
                x = self.data.prepare(images[idx]).to(ctx.device)
            y = labels[idx].to(ctx.device)
            self.optimizer.zero_grad(set_to_none=True)
            with _autocast(ctx.device, cfg.amp):
                logits = self.forward(x)
                # sum over this rank's share, scaled so that DDP's gradient average over
                # ranks equals the mean over the global batch
                loss = F.cross_entropy(logits.float(), y, reduction="sum") * (
                    ctx.world_size / len(batch)
                )
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            loss_sum, correct, seen = dist_mod.all_sum(
                [
                    float(loss.detach()) * len(batch) / ctx.world_size,
                    float((logits.argmax(1) == y).sum()),
                    float(len(idx)),
                ],
                ctx,
            )
            self.partial["loss_sum"] += loss_sum
            self.partial["correct"] += int(correct)
            self.partial["seen"] += int(seen)
            self.step_in_epoch += 1
            self.steps += 1
            if progress:
                progress.update(task, advance=1)
            out_of_steps = cfg.max_steps is not None and self.steps >= cfg.max_steps
            out_of_time = deadline is not None and time.perf_counter() > deadline
            if dist_mod.broadcast_flag(out_of_steps or out_of_time, ctx):
                stopped = self.step_in_epoch < len(batches)
                break
        self.partial["seconds"] += time.perf_counter() - start
        self.timestamps["trained"] = time.time()
        if progress:
            progress.remove_task(task)
        return stopped

    def finish_epoch(self, partial: bool) -> None:
        """Evaluate, count dead units, log the epoch's metrics and checkpoint (rank 0)."""
        cfg, ctx = self.config, self.ctx
        if not partial:
            self.epoch += 1
        if ctx.is_main:
            test_loss, test_acc = evaluate(
                self.model, self.data, ctx.device, max(cfg.batch_size, 256), cfg.amp
            )
            self.timestamps["evaluated"] = time.time()
            report = count_dead_units(
                self.model,
                dead_unit_batches(
                    self.data, cfg.dead_samples, max(cfg.batch_size, 256), ctx.device
                ),
                source=self.spec.name,
            )
            seen = max(self.partial["seen"], 1)
            line = {
                "epoch": self.epoch + (1 if partial else 0),
                "steps": self.steps,
                "loss": self.partial["loss_sum"] / seen,
                "train_accuracy": self.partial["correct"] / seen,
                "test_loss": test_loss,
                "test_accuracy": test_acc,
                "seconds": self.partial["seconds"],
                "partial": partial,
                # wall clock (time.time()) at the epoch's start, after its training steps
                # and after its test evaluation (before the dead-unit count and checkpoint)
                "timestamps": dict(self.timestamps),
                "dead_units": {
                    "samples": report.samples,
                    "units": report.units,
                    "dead": report.dead,
                    "share": report.share,
                    "linkages": report.linkages,
                    "dead_linkages": report.dead_linkages,
                    "elements": report.elements,
                    "dead_elements": report.dead_elements,
                    "layers": [
                        [la.name, la.units, la.dead, la.elements, la.dead_elements]
                        for la in report.layers
                    ],
                },
            }
            self.metrics.append(line)
            improved = test_acc > self.best
            self.best = max(self.best, test_acc)
        if not partial:
            self.step_in_epoch = 0
            self.partial = {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
        if ctx.is_main and self.out is not None:
            outputs.write_metrics(self.out, self.metrics)
            if partial or self.epoch % cfg.checkpoint_every == 0 or self.epoch == cfg.epochs:
                self.save(best=improved)


def _progress(enabled: bool):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),  # stdout carries the results
        transient=True,
    )


def train(config: TrainConfig) -> TrainResult:
    """Train ``config.model`` on ``config.data`` and return the result.

    Writes config.json, metrics.jsonl and checkpoints to ``config.out`` (rank 0 only).
    Raises BadInputError (before writing anything) for bad settings, an unknown model or
    dataset, a missing data folder or an output folder that exists without
    overwrite/resume; and for a corrupt checkpoint on resume.
    """
    config.validate()
    ctx = dist_mod.setup(config.device)
    try:
        return _train(config, ctx)
    finally:
        dist_mod.teardown(ctx)


def _train(config: TrainConfig, ctx: dist_mod.DistContext) -> TrainResult:
    """The body of :func:`train` in a set-up process; its run (and the run's
    data-parallel wrapper) is released before it returns or raises."""
    out = config.out_path
    if out is not None and ctx.is_main:
        outputs.check_output_folder(out, config.overwrite, config.resume)
    run = _Run(config, ctx)
    try:
        resume_from = out / outputs.CHECKPOINT if out is not None else None
        if config.resume and resume_from is not None and resume_from.exists():
            run.restore(resume_from)
        elif config.resume and resume_from is not None and (out / outputs.METRICS).exists():
            raise BadInputError(f"cannot resume: {resume_from} is missing")
        if out is not None and ctx.is_main:
            outputs.prepare_output_folder(out, config.overwrite)
            write_text_atomic(out / outputs.CONFIG, json.dumps(config.to_dict(), indent=2) + "\n")
        deadline = None if config.max_seconds is None else time.perf_counter() + config.max_seconds
        with _progress(config.progress and ctx.is_main) as progress:
            while run.epoch < config.epochs:
                stopped = run.run_epoch(deadline, progress)
                run.finish_epoch(partial=stopped)
                if stopped or (config.max_steps is not None and run.steps >= config.max_steps):
                    break
                if deadline is not None and time.perf_counter() > deadline:
                    break
        return TrainResult(
            run.spec, run.model, run.metrics, run.steps, out if ctx.is_main else None
        )
    finally:
        run.release()
