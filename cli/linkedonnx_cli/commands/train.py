"""`linkedonnx train`: train a zoo model on a dataset (single process, or data-parallel
when launched with `torchrun --nproc_per_node=N`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx_cli import verbosity
from linkedonnx_cli.options import at_least_one
from linkedonnx_cli.render import output_console

if TYPE_CHECKING:  # the library's torch side is imported when the command runs
    from linkedonnx.train import TrainResult


def render(result: TrainResult, console: Console) -> None:
    """Print one table row per epoch and where the files went."""
    table = Table(title=f"{result.spec.name} ({result.steps} steps)", header_style="bold")
    for col in ("epoch", "loss", "train acc", "test acc", "s/epoch", "dead units"):
        table.add_column(col, justify="right")
    for m in result.metrics:
        dead = m["dead_units"]
        table.add_row(
            f"{m['epoch']}{'*' if m.get('partial') else ''}",
            f"{m['loss']:.4f}",
            f"{m['train_accuracy']:.4f}",
            f"{m['test_accuracy']:.4f}",
            f"{m['seconds']:.1f}",
            f"{dead['dead']}/{dead['units']} ({dead['share']:.0%})",
        )
    console.print(table)
    if any(m.get("partial") for m in result.metrics):
        console.print("* partial epoch (stopped by --max-steps or the time budget)")
    if result.out is not None:
        console.print(f"wrote {result.out}/metrics.jsonl and checkpoints")


def command(
    model: Annotated[
        str | None, typer.Option(help="Zoo model name, e.g. depth/lk-relu (see `zoo`).")
    ] = None,
    data: Annotated[
        str, typer.Option(help="Dataset: digits, fashion-mnist, cifar10 or synthetic.")
    ] = "digits",
    epochs: Annotated[int, typer.Option(help="Number of epochs.")] = 10,
    batch_size: Annotated[
        int, typer.Option("--batch", help="Global batch size.", callback=at_least_one)
    ] = 32,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-3,
    optimizer: Annotated[str, typer.Option(help="sgd, adam or rmsprop.")] = "adam",
    momentum: Annotated[float, typer.Option(help="SGD momentum.")] = 0.0,
    nesterov: Annotated[bool, typer.Option(help="SGD with Nesterov momentum.")] = False,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    amp: Annotated[
        bool, typer.Option(help="Mixed precision: fp16 + GradScaler on CUDA, bf16 on the CPU.")
    ] = False,
    compile: Annotated[bool, typer.Option("--compile", help="Use torch.compile.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and sample order.")] = 0,
    init: Annotated[
        str, typer.Option(help="keras (Glorot, zero bias: the paper's) or torch (defaults).")
    ] = "keras",
    out: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="Output folder (metrics.jsonl, checkpoints)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    resume: Annotated[
        bool, typer.Option(help="Continue from checkpoint.safetensors in --out when it exists.")
    ] = False,
    standardize: Annotated[
        bool, typer.Option(help="Standardize inputs (default: raw, only scaled to 0..1).")
    ] = False,
    image_size: Annotated[
        int | None,
        typer.Option(
            help="Image side fed to the model (default: the dataset's).", callback=at_least_one
        ),
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps.")] = None,
    dead_samples: Annotated[
        int | None,
        typer.Option(help="Train samples the per-epoch dead-unit count sees (default 2048)."),
    ] = 2048,
    all_samples: Annotated[
        bool, typer.Option("--dead-all", help="Count dead units on the whole train split.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of cifar10 (cifar-10-batches-py) or fashion-mnist (default: "
            "/usr/share/datasets/fashion-mnist, the Debian package dataset-fashion-mnist)."
        ),
    ] = None,
    download: Annotated[
        bool, typer.Option(help="Allow torchvision to download CIFAR-10 into --data-dir.")
    ] = False,
    from_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Start from this checkpoint's model and weights (linkified or not) "
            "instead of --model.",
        ),
    ] = None,
) -> None:
    """Train a zoo model (or continue a checkpoint's, --from); per-epoch metrics (loss,
    accuracy, seconds, dead units) as JSON lines."""
    from linkedonnx.atomic import check_output_folder
    from linkedonnx.train import TrainConfig, train

    if out is not None:
        check_output_folder(out)
    else:
        typer.echo("linkedonnx: no --out given: nothing will be saved", err=True)
    config = TrainConfig(
        model=model or "",
        data=data,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        momentum=momentum,
        nesterov=nesterov,
        device=device,
        amp=amp,
        compile=compile,
        seed=seed,
        init=init,
        out=out,
        overwrite=overwrite,
        resume=resume,
        standardize=standardize,
        image_size=image_size,
        max_steps=max_steps,
        data_dir=data_dir,
        download=download,
        dead_samples=None if all_samples else dead_samples,
        progress=verbosity.progress_enabled(),
        from_checkpoint=from_checkpoint,
    )
    result = train(config)
    if result.out is not None or result.metrics:
        render(result, output_console())
