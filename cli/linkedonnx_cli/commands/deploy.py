"""`linkedonnx deploy triton`: a Triton Inference Server model repository entry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linkedonnx_cli.options import provider_option
from linkedonnx_cli.render import output_console

app = typer.Typer(
    name="deploy",
    help="Write a model for a serving engine (triton: a Triton model repository entry).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("triton")
def triton(
    model: Annotated[Path, typer.Argument(help="Input ONNX file (linked functions or flat).")],
    repo: Annotated[Path, typer.Option("--repo", help="The Triton model repository folder.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Model name (default: the file's stem).")
    ] = None,
    max_batch_size: Annotated[
        int,
        typer.Option(
            "--max-batch-size", help="Triton's max_batch_size; 0 for a fixed-batch model."
        ),
    ] = 32,
    instances: Annotated[
        int, typer.Option("--instances", help="Model instances (instance_group count).")
    ] = 1,
    provider: Annotated[
        str, provider_option("What to optimize for (cpu: KIND_CPU, cuda: KIND_GPU)")
    ] = "cpu",
    preferred_batch_size: Annotated[
        list[int] | None,
        typer.Option("--preferred-batch-size", help="Dynamic batching's preferred sizes (repeat)."),
    ] = None,
    queue_delay_us: Annotated[
        int, typer.Option("--queue-delay-us", help="Dynamic batching's max queue delay (µs).")
    ] = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing entry's model and config.")
    ] = False,
) -> None:
    """Write --repo/NAME/1/model.onnx (optimized for --provider, no model-local functions) and
    --repo/NAME/config.pbtxt (ONNX Runtime backend, inputs and outputs, dynamic batching,
    instance group, the recorded preprocessing as a parameter), all or nothing."""
    from linkedonnx.deploy.triton import write_repository

    entry = write_repository(
        model,
        repo,
        name,
        max_batch_size=max_batch_size,
        instances=instances,
        target=provider,
        preferred_batch_sizes=preferred_batch_size,
        queue_delay_us=queue_delay_us,
        overwrite=overwrite,
    )
    config = entry.config
    output_console().print(
        f"wrote {entry.model_file} and {entry.config_file}: max_batch_size "
        f"{config.max_batch_size}, {config.instances} x {config.kind}"
    )
