"""`linkedonnx experiment`: run one of the paper's comparisons and write table and plots."""

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
    from linkedonnx.experiments import ExperimentResult


def render(result: ExperimentResult, console: Console) -> None:
    """Print one row per activation and the files written."""
    table = Table(title=f"experiment {result.experiment.name}", header_style="bold")
    several = len({s.seed for s in result.summaries}) > 1
    columns = ("activation", "seed") if several else ("activation",)
    for col in (
        *columns,
        *("params", "epochs", "best acc", "final acc", "s", "dead units", "dead linkages"),
        "first dead layer",
    ):
        table.add_column(col, justify="left" if col == "activation" else "right")
    for s in result.summaries:
        table.add_row(
            s.activation,
            *([str(s.seed)] if several else []),
            f"{s.parameters:,}",
            f"{s.epochs}{'*' if s.partial else ''}",
            f"{s.best_test_accuracy:.4f}",
            f"{s.final_test_accuracy:.4f}",
            f"{s.seconds:.0f}",
            f"{s.dead_units}/{s.units} ({s.dead_share:.0%})",
            "" if s.dead_linkages is None else f"{s.dead_linkages}/{s.linkages}",
            "none" if s.first_dead_layer is None else str(s.first_dead_layer),
        )
    console.print(table)
    for path in result.files:
        console.print(f"wrote {path}")


def command(
    name: Annotated[
        str, typer.Argument(help="depth, width, params, allcnn, resnet or resnet-nobn.")
    ],
    activations: Annotated[
        str | None,
        typer.Option(help="Comma-separated, e.g. relu,lk-relu (default: the paper's set)."),
    ] = None,
    data: Annotated[str, typer.Option(help="Dataset: digits, cifar10 or synthetic.")] = "digits",
    epochs: Annotated[int, typer.Option(help="Epochs per activation (at most).")] = 20,
    budget_seconds: Annotated[
        float | None, typer.Option(help="Total training time, split over the activations.")
    ] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Output folder.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of every run.")] = 0,
    seeds: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated seeds, e.g. 0,1,2: every activation is trained once per "
            "seed and the table adds best / median over them (overrides --seed)."
        ),
    ] = None,
    image_size: Annotated[
        int | None, typer.Option(help="Image side fed to the models.", callback=at_least_one)
    ] = None,
    standardize: Annotated[bool, typer.Option(help="Standardize inputs (default raw).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    batch_size: Annotated[
        int | None,
        typer.Option("--batch", help="Override the paper's batch.", callback=at_least_one),
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Override the paper's learning rate.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop each run after N steps.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Folder holding CIFAR-10.")] = None,
    recipe: Annotated[
        str,
        typer.Option(
            help="default, or paper: depth or resnet-nobn as the authors' Keras code trained "
            "them (Keras-2 Adam; depth: batch 32, no shuffle, per-element PReLU slopes from 0, "
            "TF padding; resnet-nobn: decay 1e-6, batch 128, flips and 10% shifts, Keras BN, "
            "Flatten + Dense head)."
        ),
    ] = "default",
    train_subset: Annotated[
        int | None,
        typer.Option(
            "--samples",
            help="Train on a fixed stratified subset of N train images.",
            callback=at_least_one,
        ),
    ] = None,
) -> None:
    """Train each activation's model, then write results.md/.json and PNG plots."""
    from linkedonnx.atomic import check_output_folder
    from linkedonnx.experiments import ExperimentConfig, parse_seeds, run_experiment

    check_output_folder(out if out is not None else Path("experiments") / name)
    config = ExperimentConfig(
        experiment=name,
        out=out if out is not None else Path("experiments") / name,
        activations=[a.strip() for a in activations.split(",") if a.strip()]
        if activations
        else None,
        data=data,
        epochs=epochs,
        budget_seconds=budget_seconds,
        overwrite=overwrite,
        seed=seed,
        seeds=parse_seeds(seeds) if seeds is not None else None,
        image_size=image_size,
        standardize=standardize,
        device=device,
        batch_size=batch_size,
        lr=lr,
        max_steps=max_steps,
        data_dir=data_dir,
        progress=verbosity.progress_enabled(),
        recipe=recipe,
        train_subset=train_subset,
    )
    render(run_experiment(config), output_console())
