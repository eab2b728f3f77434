"""`linkedonnx bench`: time ONNX models in ONNX Runtime or OpenVINO, interleaved, with
ratios to the first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx_cli import verbosity
from linkedonnx_cli.data_options import (
    DataDirOption,
    MeanOption,
    ScaleOption,
    StandardizeOption,
    StdOption,
)
from linkedonnx_cli.options import CacheDirOption, PrecisionOption, at_least_one, provider_option
from linkedonnx_cli.render import output_console

if TYPE_CHECKING:  # onnx/onnxruntime are imported when the command runs
    from linkedonnx.runtime.bench import BenchReport


def render(report: BenchReport, console: Console) -> None:
    """Print the settings line and one table row per model."""
    openvino = report.runtime == "openvino"
    how = (
        f"precision {report.precision}, one compilation per model for the batch's shape"
        if openvino
        else f"io binding {'on' if report.iobinding else 'off'}"
    )
    console.print(
        f"provider {report.provider} ({', '.join(report.providers)}), "
        f"threads {report.threads if report.threads is not None else 'runtime default'}, "
        f"batch {report.batch}, warm-up {report.warmup}, runs {report.runs} interleaved, "
        f"{how}, {report.runtime} {report.runtime_version or report.ort_version}, "
        f"inputs {report.data}"
    )
    for model, settings in report.runners.items() if openvino else []:
        compiled = ", ".join(f"{s:.2f} s" for s in settings.get("compile_seconds", {}).values())
        console.print(
            f"{model}: read {settings['load_seconds']:.2f} s, compiled {compiled} "
            f"({', '.join(settings.get('compiled_precision', []))})"
        )
    table = Table(show_header=True, header_style="bold")
    for col in ("model", "median ms", "p90 ms", "p99 ms", "items/s", "speed-up vs first"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for t in report.timings:
        table.add_row(
            t.name,
            f"{t.median_ms:.3f}",
            f"{t.p90_ms:.3f}",
            f"{t.p99_ms:.3f}",
            f"{t.throughput:.1f}",
            f"{t.speedup:.2f}x",
        )
    console.print(table)


def command(
    models: Annotated[
        list[Path], typer.Argument(help="ONNX model files; ratios are to the first.")
    ],
    provider: Annotated[str, provider_option("Where the models run")] = "cpu",
    precision: PrecisionOption = "f32",
    cache_dir: CacheDirOption = None,
    batch: Annotated[
        int, typer.Option(help="Value of every dynamic input dimension.", callback=at_least_one)
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(help="Threads: ONNX Runtime intra-op threads, or OpenVINO inference threads."),
    ] = None,
    warmup: Annotated[int, typer.Option(help="Untimed runs of each model first.")] = 10,
    runs: Annotated[int, typer.Option(help="Timed runs of each model (interleaved).")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the random inputs.")] = 0,
    data: Annotated[
        str | None,
        typer.Option(
            help="Feed the first --batch test samples of this data set or .npz (default: "
            "the data set the first model records, else seeded random inputs)."
        ),
    ] = None,
    seeded: Annotated[
        bool, typer.Option("--seeded", help="Seeded random inputs even when data is recorded.")
    ] = False,
    data_dir: DataDirOption = None,
    scale: ScaleOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    standardize: StandardizeOption = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw each model's latency distribution as a PNG."),
    ] = None,
) -> None:
    """Time ONNX models in ONNX Runtime or OpenVINO: median, p90, p99, throughput, speed-up vs the first."""
    from linkedonnx.arrays.labelled import PreprocessOptions
    from linkedonnx.atomic import reserve_outputs, write_text_atomic
    from linkedonnx.report_json import report_text
    from linkedonnx.runtime.bench import bench_models

    with reserve_outputs(json_path, plot, inputs=tuple(models)):
        with verbosity.progress("bench (rounds)") as tell:
            report = bench_models(
                models,
                provider=provider,
                batch=batch,
                threads=threads,
                warmup=warmup,
                runs=runs,
                seed=seed,
                data=data,
                data_dir=data_dir,
                seeded=seeded,
                options=PreprocessOptions.parse(scale, mean, std, standardize),
                progress=tell,
                precision=precision,
                cache_dir=cache_dir,
            )
        if json_path is not None:
            write_text_atomic(json_path, report_text(report.to_dict()))
        if plot is not None:
            from linkedonnx.runtime.bench_plot import latency_plot

            latency_plot(report.timings, plot, f"batch {batch}, {report.provider}")
    render(report, output_console())
