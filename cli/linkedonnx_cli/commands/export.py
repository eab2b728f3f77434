"""`linkedonnx export`: a zoo model or checkpoint to ONNX, linked activations as functions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linkedonnx_cli import verbosity
from linkedonnx_cli.options import at_least_one
from linkedonnx_cli.render import output_console


def command(
    source: Annotated[
        str, typer.Argument(help="zoo:NAME (random init from --seed) or a checkpoint file.")
    ],
    output: Annotated[Path, typer.Option("-o", "--out", help="The .onnx file to write.")],
    opset: Annotated[
        int | None,
        typer.Option(help="Default-domain ONNX opset (default: the lowest supported, 18)."),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            help="Batch of the traced example (the batch dim stays dynamic).", callback=at_least_one
        ),
    ] = 1,
    inline: Annotated[
        bool, typer.Option("--inline", help="Inline the linked functions: standard ops only.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="Weight seed for zoo:NAME sources (default 0).")
    ] = None,
    in_channels: Annotated[
        int | None, typer.Option(help="Input channels (zoo sources; default 3).")
    ] = None,
    image_size: Annotated[
        int | None,
        typer.Option(
            help="Input height and width (zoo sources; default 32).", callback=at_least_one
        ),
    ] = None,
    num_classes: Annotated[
        int | None, typer.Option(help="Number of classes (zoo sources; default 10).")
    ] = None,
) -> None:
    """Export the source to ONNX: each linked activation becomes one call of a model-local
    function in the 'linkedonnx' domain (or standard ops with --inline)."""
    from linkedonnx.atomic import reserve_outputs
    from linkedonnx.errors import BadInputError
    from linkedonnx.export import MIN_EXPORT_OPSET, export_source  # torch: only when it runs

    checkpoint = () if source.startswith("zoo:") else (Path(source),)
    if checkpoint and seed is not None:
        raise BadInputError("--seed sets the weights of a zoo: model; a checkpoint has its own")
    with reserve_outputs(output, inputs=checkpoint), verbosity.progress(f"export {source}"):
        result = export_source(
            source,
            output,
            seed=0 if seed is None else seed,
            opset=MIN_EXPORT_OPSET if opset is None else opset,
            batch=batch,
            inline=inline,
            in_channels=in_channels,
            image_size=image_size,
            num_classes=num_classes,
        )
    output_console().print(f"wrote {result.summary()}")
