"""Reading an ONNX file for convert, optimize and quantize: the one step every such
command starts from (no torch here).

:func:`read_model` loads and checks the file (:func:`linkedonnx.onnx_io.load_model`,
then the full ONNX check: a file the checker rejects is the user's to fix), loads it in
ONNX Runtime, reads an IR < 4 model's initializers listed as inputs as constants (as
ONNX Runtime does: they leave the graph inputs), and upgrades a default-domain opset
older than :data:`~linkedonnx.onnx_io.MIN_OPSET` to
:data:`~linkedonnx.onnx_io.UPGRADE_OPSET` with ``onnx.version_converter``, checking with
ONNX Runtime that the upgraded model computes what the file did (the model's own
``test_data_set_0`` inputs beside it where present, else seeded inputs). Where the
converter fails or changes the outputs, :attr:`ReadModel.stopped` says why and the
commands write the file unchanged. validate and inspect run the file as given and do
not use this step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx_ir as ir
from onnx import numpy_helper

from linkedonnx.errors import BadInputError, first_line
from linkedonnx.onnx_io import (
    MIN_OPSET,
    UPGRADE_ATOL,
    UPGRADE_OPSET,
    check_full,
    constant_initializer_inputs,
    default_opset,
    load_model,
    needs_external_data,
)
from linkedonnx.passes.base import StepReport


@dataclass
class ReadModel:
    """What :func:`read_model` made of a file.

    ``given``: the file as given. ``model``: what the passes start from (IR < 4
    initializers frozen, opset upgraded; ``given`` itself when nothing changed).
    ``upgraded_from``: the opset before the upgrade, None without one. ``frozen``: the
    IR < 4 initializers taken out of the inputs (none when the passes are skipped). ``stopped``: why the passes must be
    skipped (the upgrade failed or changed the outputs), None when they may run.
    ``subgraphs``: 'op_type name' of each main-graph node that holds a subgraph (not
    searched for linked patterns)."""

    given: onnx.ModelProto
    model: onnx.ModelProto
    upgraded_from: int | None = None
    frozen: list[str] = field(default_factory=list)
    stopped: str | None = None
    subgraphs: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The read step's lines for the pipeline report (text and JSON)."""
        counts: dict[str, int] = {}
        if self.upgraded_from is not None and self.stopped is None:
            counts[f"upgraded opset {self.upgraded_from} -> {default_opset(self.model)}"] = 1
        for name in self.frozen:
            counts[f"IR {self.given.ir_version} initializer read as constant {name}"] = 1
        if self.stopped is not None:
            counts[f"linked passes skipped, model written unchanged: {self.stopped}"] = 1
        if self.subgraphs:
            kinds = sorted({s.split(" ")[0] for s in self.subgraphs})
            counts[f"subgraphs not searched for linked patterns ({', '.join(kinds)})"] = len(
                self.subgraphs
            )
        return counts

    def notes(self) -> list[str]:
        """The read step's lines as sentences, the IR < 4 constants as one line (for
        reports without pass steps; they list the names elsewhere)."""
        lines = [
            key if n == 1 else f"{key}: {n}"
            for key, n in self.counts().items()
            if not key.startswith(f"IR {self.given.ir_version} initializer ")
        ]
        if self.frozen:
            lines.insert(
                1 if self.upgraded_from is not None and self.stopped is None else 0,
                f"IR {self.given.ir_version}: {len(self.frozen)} initializers listed as inputs "
                "read as constants",
            )
        return lines

    def step(self) -> StepReport:
        """The read step as the first step of a pipeline report."""
        return StepReport("Read", self.model is not self.given, self.counts())


def read_model(path: str | os.PathLike[str]) -> ReadModel:
    """Read the ONNX file ``path`` as the passes need it (see the module docstring).

    Returns a :class:`ReadModel`. Raises BadInputError (one line) for a file that is
    missing, not ONNX, truncated, fails the ONNX checker or does not load in ONNX
    Runtime.
    """
    from linkedonnx.runtime.session import make_session

    p = Path(path)
    given = load_model(p)
    large = needs_external_data(given)
    check_full(str(p) if large else given, str(p), BadInputError)
    make_session(p if large else given, "cpu", threads=1, optimization="disable")
    read = ReadModel(given, given, subgraphs=subgraph_nodes(given))
    model, read.frozen = _read_ir3_constants(given)
    opset = default_opset(model)
    if opset < MIN_OPSET:
        read.upgraded_from = opset
        upgraded, read.stopped = _upgrade(model)
        if upgraded is not None and read.stopped is None:
            read.stopped = _upgrade_changes_outputs(given, upgraded, p)
        if upgraded is not None:
            model = upgraded
    if read.stopped is not None:
        read.model, read.frozen = given, []  # written as given: nothing was frozen
    else:
        read.model = _with_needed_ir_version(model)
    return read


def subgraph_nodes(model: onnx.ModelProto) -> list[str]:
    """'op_type name' of each main-graph node with a graph attribute (If, Loop, Scan)."""
    found = []
    for node in model.graph.node:
        if any(
            a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            for a in node.attribute
        ):
            found.append(f"{node.op_type} {node.name}".rstrip())
    return found


def _read_ir3_constants(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """``model`` with its initializers out of the graph inputs when its IR version is
    below :data:`MIN_OVERRIDABLE_IR_VERSION` (ONNX Runtime reads them as constants),
    and their names; ``model`` itself and [] otherwise."""
    from linkedonnx.passes.freeze_inputs import FreezeInputsPass

    names = constant_initializer_inputs(model)
    if not names:
        return model, []
    ir_model = ir.serde.deserialize_model(model)  # a copy: the given proto is not changed
    FreezeInputsPass()(ir_model)
    return ir.serde.serialize_model(ir_model), names


def _with_needed_ir_version(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with at least the IR version its opset imports need (opset 17: IR 8)."""
    needed = onnx.helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
    if model.ir_version < needed:
        model.ir_version = needed
    return model


def _upgrade(model: onnx.ModelProto) -> tuple[onnx.ModelProto | None, str | None]:
    """``model`` upgraded to :data:`UPGRADE_OPSET` and None, or (None, why not) where
    the converter fails or its result fails the ONNX checker."""
    before = default_opset(model)
    try:
        upgraded = onnx.version_converter.convert_version(model, UPGRADE_OPSET)
    except Exception as exc:
        return (
            None,
            f"onnx.version_converter cannot upgrade opset {before} -> "
            f"{UPGRADE_OPSET} ({first_line(exc, type(exc).__name__)})",
        )
    upgraded = _with_needed_ir_version(upgraded)
    try:
        onnx.checker.check_model(upgraded, full_check=True)
    except Exception as exc:
        return (
            None,
            f"the model upgraded to opset {UPGRADE_OPSET} fails the ONNX checker "
            f"({first_line(exc, type(exc).__name__)})",
        )
    return upgraded, None


def _upgrade_changes_outputs(
    given: onnx.ModelProto, upgraded: onnx.ModelProto, path: Path
) -> str | None:
    """None when ``upgraded`` computes what ``given`` does in ONNX Runtime (within
    :data:`UPGRADE_ATOL`, relative tolerance the same) on the model's test inputs beside
    ``path`` or seeded ones; else why not (the first output that differs, or the reason
    the check could not run)."""
    from linkedonnx.runtime.inputs import session_inputs
    from linkedonnx.runtime.session import make_session

    try:
        before = make_session(given, "cpu", threads=1, optimization="disable")
        after = make_session(upgraded, "cpu", threads=1, optimization="disable")
    except BadInputError as exc:
        return f"ONNX Runtime cannot load the upgraded model ({exc})"
    try:
        feeds = _test_inputs(path, before) or session_inputs(before)
        expected = before.run(None, feeds)
        actual = after.run(None, feeds)
    except Exception as exc:
        return f"cannot check the upgrade with ONNX Runtime ({first_line(exc, type(exc).__name__)})"
    for out, want, got in zip(before.get_outputs(), expected, actual, strict=True):
        if not _same(want, got):
            return (
                f"upgrading opset {default_opset(given)} -> {UPGRADE_OPSET} changes output "
                f"{out.name!r}"
            )
    return None


def _test_inputs(path: Path, session: Any) -> dict[str, np.ndarray] | None:
    """The model's own inputs from ``test_data_set_0/input_<i>.pb`` beside ``path``, by
    position over the session's inputs; None when there are none or they do not fit."""
    folder = path.parent / "test_data_set_0"
    names = [arg.name for arg in session.get_inputs()]
    files = [folder / f"input_{i}.pb" for i in range(len(names))]
    if not names or not all(f.is_file() for f in files):
        return None
    feeds = {}
    for name, file in zip(names, files, strict=True):
        tensor = onnx.TensorProto()
        try:
            tensor.ParseFromString(file.read_bytes())
            feeds[name] = numpy_helper.to_array(tensor)
        except Exception:
            return None
    return feeds


def _same(want: Any, got: Any) -> bool:
    """Whether two ONNX Runtime results (arrays, or lists of them for sequences) agree
    within :data:`UPGRADE_ATOL`."""
    if isinstance(want, list) or isinstance(got, list):
        return (
            isinstance(want, list)
            and isinstance(got, list)
            and len(want) == len(got)
            and all(_same(w, g) for w, g in zip(want, got, strict=True))
        )
    want, got = np.asarray(want), np.asarray(got)
    if want.shape != got.shape or want.dtype != got.dtype:
        return False
    if not np.issubdtype(want.dtype, np.number):
        return bool(np.array_equal(want, got))
    return bool(np.allclose(got, want, atol=UPGRADE_ATOL, rtol=UPGRADE_ATOL, equal_nan=True))
