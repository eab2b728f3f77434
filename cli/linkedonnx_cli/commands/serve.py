"""`linkedonnx serve`: an ONNX classifier on Ray Serve, speaking the Open Inference
Protocol (KServe v2 REST)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from linkedonnx_cli.options import CacheDirOption, PrecisionOption, at_least_one, provider_option

PIP = "pip install 'linkedonnx[serve]'"


def command(
    model: Annotated[Path, typer.Argument(help="ONNX classifier (an optimized model).")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port; 0 picks a free one.")] = 8000,
    name: Annotated[
        str | None, typer.Option("--name", help="Model name (default: the file's stem).")
    ] = None,
    replicas: Annotated[
        int, typer.Option("--replicas", help="Replicas, one Predictor each.", callback=at_least_one)
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            help="ORT threads per replica, each a CPU asked of Ray (default: cores // replicas, at least 1).",
            callback=at_least_one,
        ),
    ] = None,
    max_batch_size: Annotated[
        int,
        typer.Option("--max-batch-size", help="Requests per dynamic batch.", callback=at_least_one),
    ] = 16,
    batch_wait_ms: Annotated[
        float, typer.Option("--batch-wait-ms", help="Longest wait to fill a batch (ms).")
    ] = 5.0,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds a request may take (504 past it).")
    ] = 30.0,
    max_request_mb: Annotated[
        float, typer.Option("--max-request-mb", help="Largest request body (413 above it).")
    ] = 64.0,
    provider: Annotated[str, provider_option("Where the model runs")] = "cpu",
    precision: PrecisionOption = "f32",
    cache_dir: CacheDirOption = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="Join a Ray cluster (auto or its address) instead of a local Ray."
        ),
    ] = None,
    log_dir: Annotated[
        Path | None, typer.Option("--log-dir", help="Folder for Ray's own logs (local Ray).")
    ] = None,
) -> None:
    """Serve --name at http://--host:--port on Ray Serve with dynamic batching: the Open
    Inference Protocol REST API (health, model metadata, infer with JSON or binary tensors),
    FP32 model-ready inputs, or UINT8 NHWC images that get the recorded preprocessing.
    Prints one line once every replica has warmed up; SIGTERM or Ctrl-C removes the
    deployment (and shuts the local Ray down) and exits 0. Needs the serve extra."""
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        from linkedonnx.errors import MissingDependencyError

        raise MissingDependencyError(f"serve needs Ray Serve: {PIP}") from None
    from linkedonnx.atomic import check_output_folder
    from linkedonnx.deploy.serve import ServeOptions, ray_log_folder, ray_messages_to, start
    from linkedonnx.errors import BadInputError, Terminated

    if address is not None and log_dir is not None:
        raise BadInputError(
            "--log-dir is for a local Ray; a cluster (--address) keeps its own logs"
        )
    if log_dir is not None:
        check_output_folder(log_dir)
    cores = os.cpu_count() or 1
    options = ServeOptions(
        name=name if name is not None else model.stem,
        replicas=replicas,
        threads=threads if threads is not None else max(1, cores // replicas),
        max_batch_size=max_batch_size,
        batch_wait_ms=batch_wait_ms,
        timeout_s=timeout,
        max_request_mb=max_request_mb,
        provider=provider,
        precision=precision,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    folder = ray_log_folder(log_dir, address)
    with ray_messages_to(folder) as stdout:
        server = start(model, options, host=host, port=port, address=address, log_dir=folder)
        try:
            print(
                f"serving {options.name} at {server.url} ({replicas} replicas, max batch "
                f"{max_batch_size})",
                file=stdout,
                flush=True,  # the ready line reaches a pipe now, not at exit
            )
            while True:
                time.sleep(0.2)
        except (KeyboardInterrupt, Terminated):
            pass
        finally:
            server.stop()
