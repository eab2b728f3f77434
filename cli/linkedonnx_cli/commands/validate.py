"""`linkedonnx validate`: parity of an ONNX model in ONNX Runtime against a reference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx.errors import BadInputError
from linkedonnx_cli.data_options import (
    DataDirOption,
    DataOption,
    MeanOption,
    ScaleOption,
    SplitOption,
    StandardizeOption,
    StdOption,
)
from linkedonnx_cli.options import (
    CacheDirOption,
    PrecisionOption,
    at_least_one,
    given_flags,
    provider_option,
)
from linkedonnx_cli.render import output_console

if TYPE_CHECKING:  # onnx/onnxruntime are imported when the command runs
    from linkedonnx.arrays.labelled import PreprocessOptions
    from linkedonnx.runtime.accuracy import AccuracyReport
    from linkedonnx.runtime.compare import OutputComparison
    from linkedonnx.validate import ValidationReport


def comparison_table(rows: list[OutputComparison], first: str) -> Table:
    """One row per comparison (``first`` names the first column): shape, max/mean abs
    and rel error, worst element and its values, tolerances, result."""
    table = Table(show_header=True, header_style="bold")
    columns = ("shape", "max abs", "mean abs", "max rel", "mean rel", "worst at", "got/want")
    for col in (first, *columns, "atol/rtol", "result"):
        table.add_column(col, justify="left" if col in (first, "result") else "right")
    for o in rows:
        table.add_row(
            o.name,
            "x".join(map(str, o.shape)),
            f"{o.max_abs:.3g}",
            f"{o.mean_abs:.3g}",
            f"{o.max_rel:.3g}",
            f"{o.mean_rel:.3g}",
            str(list(o.worst_index)),
            f"{o.actual_at_worst:.4g}/{o.expected_at_worst:.4g}",
            f"{o.atol:g}/{o.rtol:g}",
            "pass" if o.passed else f"FAIL: {o.reason}",
        )
    return table


def render(report: ValidationReport, console: Console) -> None:
    """Print the settings line, the per-layer table (when asked for), one table row per
    output (and per output of the perturbed-initializer round) and the verdict line."""
    seed = f"seed {report.seed}" if report.seed is not None else "custom inputs"
    console.print(
        f"{report.model} on {report.runner} vs {report.reference}; "
        f"inputs {', '.join(report.inputs)} ({seed})"
    )
    if report.layers is not None:
        layers = report.layers
        console.print(comparison_table([r.comparison for r in layers.rows], "layer"))
        first = layers.first_drift
        console.print(
            f"first layer over tolerance: {first.label}"
            if first is not None
            else f"all {len(layers.rows)} compared layer value(s) within tolerance"
        )
    console.print(comparison_table(report.outputs, "output"))
    if report.perturbed:
        console.print("the same outputs with every initializer input perturbed:")
        console.print(comparison_table(report.perturbed, "output"))
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(report.summary())


#: Options that only mean something with --data (labelled data), and those that only
#: mean something without it (element-wise parity): the other kind is refused.
_DATA_ONLY = (
    "split", "max_accuracy_drop", "limit", "data_dir", "scale", "mean", "std", "standardize",
)  # fmt: skip
_PARITY_ONLY = ("batch", "atol", "rtol")


def command(
    ctx: typer.Context,
    model: Annotated[Path, typer.Argument(help="The ONNX model to check.")],
    reference: Annotated[
        str | None,
        typer.Option(
            help="zoo:NAME, a checkpoint or another .onnx (default: ONNX reference evaluator)."
        ),
    ] = None,
    provider: Annotated[str, provider_option("Where the model runs")] = "cpu",
    precision: PrecisionOption = "f32",
    cache_dir: CacheDirOption = None,
    batch: Annotated[
        int, typer.Option(help="Value of every dynamic input dimension.", callback=at_least_one)
    ] = 1,
    atol: Annotated[
        float | None, typer.Option(help="Absolute tolerance (default by dtype).")
    ] = None,
    rtol: Annotated[
        float | None, typer.Option(help="Relative tolerance (default by dtype).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the inputs and of a zoo reference's weights.")
    ] = 0,
    inputs: Annotated[
        Path | None, typer.Option(help="A .npz file of inputs, one array per model input.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
    per_layer: Annotated[
        bool,
        typer.Option(
            "--per-layer",
            help="Also compare each layer's output and each linked layer's z; name the "
            "first layer over tolerance.",
        ),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw the error per layer as a PNG (implies --per-layer)."),
    ] = None,
    data: DataOption = None,
    split: SplitOption = "test",
    max_accuracy_drop: Annotated[
        float, typer.Option(help="With --data: largest allowed top-1 drop, in points.")
    ] = 0.5,
    limit: Annotated[
        int | None,
        typer.Option(
            "--samples",
            help="With --data: only the first N samples of the split.",
            callback=at_least_one,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    scale: ScaleOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    standardize: StandardizeOption = None,
) -> None:
    """Feed the same inputs to the model (in ONNX Runtime, or OpenVINO with --provider
    openvino) and to the reference; compare each output (bf16: the bfloat16 tolerance). With --data: top-1 accuracy of both on labelled data, pass or fail on the
    accuracy drop. Exit 0 pass, 1 fail (or nothing compared), 2 bad input."""
    from linkedonnx.arrays.labelled import PreprocessOptions
    from linkedonnx.atomic import reserve_outputs

    if data is not None and inputs is not None:
        raise BadInputError("--inputs and --data exclude each other")
    if data is not None and (per_layer or plot is not None):
        raise BadInputError("--per-layer and --plot compare elements; they do not go with --data")
    read = [model, *([inputs] if inputs else [])]
    read += [Path(reference)] if reference and not reference.startswith("zoo:") else []
    read += [Path(data)] if data is not None and data.lower().endswith(".npz") else []
    with reserve_outputs(json_path, plot, inputs=tuple(read)):
        if data is None and inputs is None and not per_layer and plot is None:
            data = _int8_default_data(model)  # reads the model: after the outputs' checks
        _refuse_ignored(ctx, with_data=data is not None)
        if data is not None:
            report = _accuracy(model, reference, data, split, max_accuracy_drop, limit,
                               data_dir, PreprocessOptions.parse(scale, mean, std, standardize),
                               provider, seed, json_path, precision, cache_dir)  # fmt: skip
        else:
            report = _compare(model, reference, provider, batch, atol, rtol, seed, inputs,
                              per_layer, plot, json_path, precision, cache_dir)  # fmt: skip
    if not report.passed:
        raise typer.Exit(1)


def _refuse_ignored(ctx: typer.Context, *, with_data: bool) -> None:
    """Raise BadInputError naming the options given that this run would ignore: those
    of labelled data without --data, those of element-wise parity with it."""
    if not with_data and (flags := given_flags(ctx, *_DATA_ONLY)):
        raise BadInputError(f"{', '.join(flags)} need --data (labelled data); without it "
                            "validate compares outputs element-wise")  # fmt: skip
    if with_data and (flags := given_flags(ctx, *_PARITY_ONLY)):
        raise BadInputError(f"{', '.join(flags)} do not go with accuracy on labelled data "
                            "(--data, or the data set an INT8 model records): it has no "
                            "element-wise tolerance or batch")  # fmt: skip


def _compare(
    model: Path,
    reference: str | None,
    provider: str,
    batch: int,
    atol: float | None,
    rtol: float | None,
    seed: int,
    inputs: Path | None,
    per_layer: bool,
    plot: Path | None,
    json_path: Path | None,
    precision: str = "f32",
    cache_dir: Path | None = None,
) -> ValidationReport:
    """``validate``: the model's outputs (and, with ``per_layer`` or ``plot``, each layer's)
    against the reference's; prints the report, writes --json and --plot. Returns it."""
    from linkedonnx.atomic import write_text_atomic
    from linkedonnx.validate import validate

    report = validate(
        model,
        reference,
        provider=provider,
        batch=batch,
        atol=atol,
        rtol=rtol,
        seed=seed,
        inputs=inputs,
        per_layer=per_layer or plot is not None,
        precision=precision,
        cache_dir=cache_dir,
    )
    if json_path is not None:
        write_text_atomic(json_path, report.to_json())
    if plot is not None and report.layers is not None:
        from linkedonnx.runtime.layers import plot_layers

        against = Path(reference).name if reference else "the ONNX reference evaluator"
        plot_layers(report.layers, plot, title=f"{model.name} vs {against}")
    render(report, output_console())
    return report


def _accuracy(
    model: Path,
    reference: str | None,
    data: str,
    split: str,
    max_accuracy_drop: float,
    limit: int | None,
    data_dir: Path | None,
    options: PreprocessOptions,
    provider: str,
    seed: int,
    json_path: Path | None,
    precision: str = "f32",
    cache_dir: Path | None = None,
) -> AccuracyReport:
    """``validate --data``: accuracy of the model and the reference on labelled data; prints
    the report and writes --json. Returns it."""
    from linkedonnx.atomic import write_text_atomic
    from linkedonnx.runtime.accuracy import validate_accuracy
    from linkedonnx_cli.accuracy_render import render_accuracy

    report = validate_accuracy(
        model, reference, data, split=split, max_accuracy_drop=max_accuracy_drop,
        options=options, data_dir=data_dir, limit=limit, provider=provider, seed=seed,
        precision=precision, cache_dir=cache_dir,
    )  # fmt: skip
    if json_path is not None:
        write_text_atomic(json_path, report.to_json())
    render_accuracy(report, output_console())
    return report


def _int8_default_data(model: Path) -> str | None:
    """The data set an INT8 model (``linkedonnx.quantize`` metadata) is judged on when no
    --data or --inputs is given: 8-bit models are judged by accuracy, not element-wise.
    None for other models. Raises BadInputError when the model records no data set."""
    from linkedonnx.arrays.preprocess import read_preprocess
    from linkedonnx.onnx_io import load_model
    from linkedonnx.quantize import METADATA_KEY

    proto = load_model(model)
    if not any(p.key == METADATA_KEY for p in proto.metadata_props):
        return None
    recorded = read_preprocess(proto)
    if recorded is None or recorded.dataset is None:
        raise BadInputError(
            f"{model} is an INT8 model, judged by accuracy: give --data NAME or a .npz "
            "(it records no data set), or --inputs for element-wise parity"
        )
    typer.echo(
        f"rule: accuracy on {recorded.dataset} (an INT8 model is judged by top-1 accuracy, "
        "not element-wise; --inputs for element-wise parity)"
    )
    return recorded.dataset
