"""`linkedonnx inspect`: dead units per layer of a checkpoint, zoo model or ONNX file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx_cli.data_options import DataDirOption, MeanOption, ScaleOption, StdOption
from linkedonnx_cli.options import at_least_one, provider_option
from linkedonnx_cli.render import output_console

if TYPE_CHECKING:  # torch/onnx are imported when the command runs
    from linkedonnx.inspect import DeadUnitReport


def render(report: DeadUnitReport, console: Console) -> None:
    """Print one row per activation layer and a total row."""
    on = f"{report.samples} {report.data} samples" if report.data else f"{report.samples} samples"
    table = Table(title=f"dead units of {report.source} on {on}", header_style="bold")
    linked = report.dead_linkages is not None
    columns = ["#", "layer", "kind", "units", "dead", "share"]
    columns += ["dead linkages"] if linked else []
    columns += ["peak |a|"]
    for col in columns:
        table.add_column(col, justify="left" if col in ("layer", "kind") else "right")
    for i, layer in enumerate(report.layers):
        row = [str(i), layer.name, layer.kind, str(layer.units), str(layer.dead)]
        row.append(f"{layer.share:.1%}")
        if linked:
            row.append(
                f"{layer.dead_linkages}/{layer.linkages}" if layer.dead_linkages is not None else ""
            )
        row.append("" if layer.peak is None else f"{layer.peak:.1e}")
        table.add_row(*row)
    table.add_section()
    total = ["", "total", "", str(report.units), str(report.dead), f"{report.share:.1%}"]
    total += [f"{report.dead_linkages}/{report.linkages}"] if linked else []
    total.append("")
    table.add_row(*total)
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")


def command(
    source: Annotated[str, typer.Argument(help="Checkpoint file, zoo:NAME or an .onnx file.")],
    data: Annotated[
        str | None,
        typer.Option(
            help="digits, fashion-mnist, cifar10, synthetic or a .npz (default: the data set "
            "the model records, else digits when it takes one channel, else synthetic images "
            "of its size)."
        ),
    ] = None,
    samples: Annotated[
        int,
        typer.Option(
            help="Train samples to run (fixed order), in whole batches of --batch.",
            callback=at_least_one,
        ),
    ] = 1024,
    batches: Annotated[
        int | None,
        typer.Option(hidden=True, help="Old spelling: --samples BATCHES x --batch."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch", help="Samples per batch.", callback=at_least_one)
    ] = 128,
    image_size: Annotated[
        int | None,
        typer.Option(help="Image side (default: the model's or dataset's).", callback=at_least_one),
    ] = None,
    standardize: Annotated[
        bool | None,
        typer.Option(
            "--standardize/--no-standardize",
            help="Standardize with the data's train statistics (default: as the model "
            "records, else not).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    scale: ScaleOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    seed: Annotated[
        int | None, typer.Option(help="Initialisation seed of a zoo: model (default 0).")
    ] = None,
    init: Annotated[
        str | None,
        typer.Option(
            help="Initialisation of a zoo: model: keras (Glorot, zero bias; the default, as "
            "in train) or torch."
        ),
    ] = None,
    provider: Annotated[
        str | None, provider_option("Where an .onnx source runs (default cpu)")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
) -> None:
    """Count units that are zero on every sample (the paper's dead units), per layer."""
    from linkedonnx.arrays.labelled import PreprocessOptions
    from linkedonnx.atomic import reserve_outputs, write_text_atomic
    from linkedonnx.errors import BadInputError
    from linkedonnx.inspect import inspect_source
    from linkedonnx.source_ref import parse_source

    ref = parse_source(source)
    read = () if ref.kind == "zoo" else (ref.path,)
    kind = {"zoo": "a zoo: model", "onnx": "an .onnx file", "checkpoint": "a checkpoint"}[ref.kind]
    if ref.kind != "zoo":
        for flag, value in (("--seed", seed), ("--init", init)):
            if value is not None:
                raise BadInputError(f"{flag} initialises a zoo: model; {kind} has its weights")
    if provider is not None and ref.kind != "onnx":
        raise BadInputError(
            f"--provider picks the runtime and device for an .onnx source, not {source}"
        )
    read += (Path(data),) if data is not None and data.lower().endswith(".npz") else ()
    with reserve_outputs(json_path, inputs=read):
        report = inspect_source(
            source,
            data,
            batches=batches if batches is not None else -(-samples // batch_size),
            batch_size=batch_size,
            image_size=image_size,
            standardize=standardize,
            data_dir=data_dir,
            seed=0 if seed is None else seed,
            init=init or "keras",
            provider=provider or "cpu",
            options=PreprocessOptions.parse(scale, mean, std),
        )
        if json_path is not None:
            write_text_atomic(json_path, report.to_json())
    render(report, output_console())
