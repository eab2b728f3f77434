"""torch -> ONNX with every linked activation kept as one call of a model-local function.

The model is copied, put in eval mode and its linked activations swapped for export
shims (:mod:`linkedonnx.export.shims`) that trace to ``linkedonnx::<Function>`` nodes;
``torch.onnx.export(dynamo=True)`` writes the rest; the FunctionProtos from
:mod:`linkedonnx.functions` are attached afterwards, their body opset aligned with the
model's. The batch dimension is dynamic ('batch').
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import onnx
import onnx_ir as ir
import torch
from torch import nn

from linkedonnx import __version__
from linkedonnx.atomic import refuse_overwriting_input
from linkedonnx.errors import BadInputError, LinkedOnnxError, first_line
from linkedonnx.export.registry_cache import cached_registry
from linkedonnx.export.shims import with_shims
from linkedonnx.functions import count_linked_nodes
from linkedonnx.functions.inline import inline_linked_functions
from linkedonnx.onnx_io import check_full, default_opset, save_model
from linkedonnx.passes.attach_functions import AttachFunctionsPass
from linkedonnx.zoo.spec import ModelSpec

if TYPE_CHECKING:
    from linkedonnx.arrays.preprocess import Preprocess

#: Oldest opset the exporter writes (torch's dynamo exporter cannot go below it).
MIN_EXPORT_OPSET = 18
#: Newest opset the exporter accepts (what the installed onnx defines).
MAX_EXPORT_OPSET = onnx.defs.onnx_opset_version()
INPUT_NAME = "input"
OUTPUT_NAME = "output"
BATCH_DIM = "batch"


@dataclass
class ExportResult:
    """What an export produced: the model, where it went, which functions it calls."""

    model: onnx.ModelProto
    path: Path | None
    #: linkedonnx op_type -> number of linked activations exported as calls of it
    #: (inlined into standard ops when ``inline`` is True).
    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    inline: bool = False

    @property
    def node_count(self) -> int:
        """Number of nodes in the main graph."""
        return len(self.model.graph.node)

    def summary(self) -> str:
        """One line: file, node count, linked functions used, size."""
        calls = ", ".join(f"{n} {name}" for name, n in sorted(self.calls.items())) or "none"
        size = self.path.stat().st_size if self.path else self.model.ByteSize()
        where = str(self.path) if self.path else "<memory>"
        form = "inlined" if self.inline else "as functions"
        return (
            f"{where}: {self.node_count} nodes, linked activations: {calls} ({form}), "
            f"opset {default_opset(self.model)}, {size / 1e6:.2f} MB, {self.seconds:.1f} s"
        )


def check_opset(opset: int) -> int:
    """Return ``opset``; raise BadInputError outside MIN_EXPORT_OPSET..MAX_EXPORT_OPSET."""
    if not MIN_EXPORT_OPSET <= opset <= MAX_EXPORT_OPSET:
        raise BadInputError(
            f"opset {opset} is not supported for export; choose "
            f"{MIN_EXPORT_OPSET}..{MAX_EXPORT_OPSET}"
        )
    return opset


def example_shape(spec_or_shape: ModelSpec | Sequence[int], batch: int) -> tuple[int, ...]:
    """The example input shape: the spec's NCHW shape, or the given shape, with ``batch``
    as dim 0. Raises BadInputError for a batch below 1 or an empty/non-positive shape."""
    if batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    if isinstance(spec_or_shape, ModelSpec):
        return spec_or_shape.input_shape(batch)
    shape = tuple(int(d) for d in spec_or_shape)
    if len(shape) < 1 or any(d < 1 for d in shape):
        raise BadInputError(f"example input shape {shape} must have positive dims")
    return (batch, *shape[1:])


def export_plain(model: nn.Module, input_shape: Sequence[int]) -> onnx.ModelProto:
    """The baseline export: ``torch.onnx.export(model, dynamo=True)`` as it is (linked
    activations flattened into plain ops, no functions), batch dim dynamic as in
    :func:`export_model`, input 'input', output 'output'. Takes the model (eval mode is
    the caller's choice) and an NCHW input shape; returns the ModelProto."""
    example = torch.zeros((2, *tuple(input_shape)[1:]))  # batch 2: no 0/1 specialization
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            input_names=["input"],
            output_names=["output"],
            verbose=False,
        )
    return program.model_proto


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence torch.onnx's progress prints, warnings and log lines during export."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def attach_linked_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    """Attach the FunctionProtos the model's linkedonnx nodes call, with their bodies
    importing the model's default opset (convert's AttachFunctionsPass, so export and
    convert agree). Returns the new ModelProto."""
    ir_model = ir.from_proto(model)
    AttachFunctionsPass()(ir_model)
    return ir.to_proto(ir_model)


def set_metadata(model: onnx.ModelProto, entries: dict[str, str]) -> onnx.ModelProto:
    """Set (replace) string metadata_props on ``model``; mutates and returns it."""
    kept = [p for p in model.metadata_props if p.key not in entries]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in entries.items():
        model.metadata_props.add(key=key, value=value)
    return model


def _torch_export(
    module: nn.Module, shape: tuple[int, ...], opset: int, optimize: bool
) -> onnx.ModelProto:
    """Run torch.onnx.export (dynamo) on ``module`` with a dynamic batch dimension."""
    example = torch.zeros(shape)
    dynamic = ({0: torch.export.Dim(BATCH_DIM)},)
    with _quiet_exporter(), cached_registry():
        try:
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                opset_version=opset,
                optimize=optimize,
                dynamic_shapes=dynamic,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                verbose=False,
                report=False,
            )
        except Exception as exc:  # torch.export / onnx translation failures
            raise LinkedOnnxError(
                f"torch.onnx.export failed: {type(exc).__name__}: {first_line(exc, '')}"
            ) from exc
    assert program is not None
    return program.model_proto


def export_model(
    model: nn.Module,
    spec_or_shape: ModelSpec | Sequence[int],
    path: str | os.PathLike[str] | None = None,
    *,
    opset: int = MIN_EXPORT_OPSET,
    batch: int = 1,
    inline: bool = False,
    source: str | None = None,
    optimize: bool = True,
    check: bool = True,
    preprocess: Preprocess | None = None,
) -> ExportResult:
    """Export ``model`` (left untouched) to ONNX with linked activations as functions.

    ``spec_or_shape`` is a ModelSpec or an example input shape (dim 0 replaced by
    ``batch``, the traced example batch; the exported batch dim is dynamic). With
    ``inline`` the linkedonnx functions are inlined (standard ONNX ops only).
    ``source`` is recorded in metadata (``linkedonnx.source``), and ``preprocess``, how
    the model's inputs are prepared, as ``linkedonnx.preprocess``. The model is checked
    with ``onnx.checker.check_model(full_check=True)`` unless ``check`` is False, and
    saved atomically to ``path`` when given. Returns an ExportResult.
    Raises BadInputError for a bad opset/batch/shape, LinkedOnnxError when export fails.
    """
    check_opset(opset)
    shape = example_shape(spec_or_shape, batch)
    start = time.perf_counter()
    shimmed, _ = with_shims(model)
    proto = _torch_export(shimmed, shape, opset, optimize)
    proto = attach_linked_functions(proto)
    meta = {
        "linkedonnx.version": __version__,
        "linkedonnx.source": source or f"torch:{type(model).__name__}",
        "linkedonnx.form": "functions",
    }
    if isinstance(spec_or_shape, ModelSpec):
        meta["linkedonnx.spec"] = spec_or_shape.to_json()
    if preprocess is not None:
        from linkedonnx.arrays.preprocess import METADATA_KEY

        meta[METADATA_KEY] = preprocess.to_json()
    set_metadata(proto, meta)
    calls = count_linked_nodes(proto)
    if inline:
        proto = inline_linked_functions(proto)
        set_metadata(proto, {"linkedonnx.form": "inlined"})
    if check:
        check_full(proto, "exported model", LinkedOnnxError)
    out = save_model(proto, path) if path is not None else None
    return ExportResult(
        model=proto,
        path=out,
        calls=calls,
        seconds=time.perf_counter() - start,
        inline=inline,
    )


def export_source(
    source: str,
    path: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    opset: int = MIN_EXPORT_OPSET,
    batch: int = 1,
    inline: bool = False,
    in_channels: int | None = None,
    image_size: int | None = None,
    num_classes: int | None = None,
) -> ExportResult:
    """Export SOURCE (``zoo:NAME``, built with ``seed`` and the optional geometry, or a
    checkpoint path) with :func:`export_model`; the source label and a checkpoint's
    recorded preprocessing go to metadata.
    Options are checked before the source is loaded. Raises BadInputError for a bad
    SOURCE, checkpoint or option (nothing is written then)."""
    from linkedonnx.sources import load_source

    check_opset(opset)
    if batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    if path is not None and Path(path).is_dir():
        raise BadInputError(f"output path {path} is a directory")
    resolved = load_source(
        source,
        seed=seed,
        in_channels=in_channels,
        image_size=image_size,
        num_classes=num_classes,
    )
    if path is not None and resolved.checkpoint is not None:
        refuse_overwriting_input(Path(path), resolved.checkpoint)
    return export_model(
        resolved.model,
        resolved.spec,
        path,
        opset=opset,
        batch=batch,
        inline=inline,
        source=resolved.label,
        preprocess=resolved.preprocess,
    )
