"""The real-world corpus: the exporter-made models the onnx package ships in
``onnx/backend/test/data`` (pytorch-converted, pytorch-operator, simple, light), their
test inputs and outputs, and seeded random weights for the light CNNs (whose weights are
all ``ConstantOfShape(0.02)`` fills, so their outputs are uniform and prove nothing).

Shared by ``benchmarks/bench_real_world.py`` (the whole set) and the CI corpus test
(a subset). No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

#: The corpus folders, in the order they are run.
FAMILIES = ("pytorch-converted", "pytorch-operator", "simple", "light")

#: The 9 classic ImageNet CNNs of ``light/``.
LIGHT_CNNS = (
    "light_bvlc_alexnet",
    "light_densenet121",
    "light_inception_v1",
    "light_inception_v2",
    "light_resnet50",
    "light_shufflenet",
    "light_squeezenet",
    "light_vgg19",
    "light_zfnet512",
)


@dataclass(frozen=True)
class CorpusModel:
    """One corpus model: ``family``/``name``, its file ``path`` and, where shipped, its
    ``test_data_set_0`` folder (None for the light CNNs, which have no inputs)."""

    family: str
    name: str
    path: Path
    test_data: Path | None

    @property
    def label(self) -> str:
        """'family/name'."""
        return f"{self.family}/{self.name}"


def corpus_root() -> Path:
    """The installed onnx package's ``backend/test/data`` folder."""
    return Path(onnx.__file__).parent / "backend" / "test" / "data"


def corpus_models(families: tuple[str, ...] = FAMILIES) -> list[CorpusModel]:
    """Every model of ``families``, sorted by name within each family."""
    root = corpus_root()
    models = []
    for family in families:
        folder = root / family
        if family == "light":
            for path in sorted(folder.glob("light_*.onnx")):
                models.append(CorpusModel(family, path.stem, path, None))
            continue
        for sub in sorted(p for p in folder.iterdir() if (p / "model.onnx").is_file()):
            data = sub / "test_data_set_0"
            models.append(
                CorpusModel(family, sub.name, sub / "model.onnx", data if data.is_dir() else None)
            )
    return models


def read_tensors(folder: Path, prefix: str) -> list[np.ndarray]:
    """The arrays of ``<prefix>_<i>.pb`` in ``folder``, i = 0, 1, ... (tensors only)."""
    arrays = []
    i = 0
    while (folder / f"{prefix}_{i}.pb").is_file():
        tensor = onnx.TensorProto()
        tensor.ParseFromString((folder / f"{prefix}_{i}.pb").read_bytes())
        arrays.append(numpy_helper.to_array(tensor))
        i += 1
    return arrays


def seeded_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """A copy of ``model`` whose ``ConstantOfShape`` weight fills (a constant shape in,
    a graph weight out) are replaced by seeded random initializers of the same shape, drawn
    as a trained net's would look so that activations keep their scale through deep nets:
    He-normal for tensors of rank >= 2 (conv and dense weights); for rank-1 tensors, by the
    role their consumer gives them (:func:`_rank1_role`): scales and variances in
    [0.5, 1.5), shifts, biases and means normal with standard deviation 0.1. The shape
    inputs the fills read are dropped; an IR 3 model lists the new initializers among its
    inputs, as IR 3 requires. Returns the new model."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    shapes = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    rng = np.random.default_rng(seed)
    consumers = _consumers(graph)
    kept, used_shapes = [], set()
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in shapes:
            kept.append(node)
            continue
        shape = tuple(int(d) for d in shapes[node.input[0]])
        if len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            value = rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))
        elif _rank1_role(node.output[0], consumers) == "scale":
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0.0, 0.1, shape)
        tensor = numpy_helper.from_array(value.astype(np.float32), node.output[0])
        graph.initializer.append(tensor)
        if out.ir_version < 4:  # IR 3 lists every initializer among the inputs
            graph.input.append(
                onnx.helper.make_tensor_value_info(tensor.name, tensor.data_type, shape)
            )
        used_shapes.add(node.input[0])
    del graph.node[:]
    graph.node.extend(kept)
    still_read = {name for node in kept for name in node.input}
    drop = used_shapes - still_read
    keep_init = [init for init in graph.initializer if init.name not in drop]
    del graph.initializer[:]
    graph.initializer.extend(keep_init)
    keep_inputs = [value for value in graph.input if value.name not in drop]
    del graph.input[:]
    graph.input.extend(keep_inputs)
    return out


def _consumers(graph: onnx.GraphProto) -> dict[str, list[tuple[onnx.NodeProto, int]]]:
    """Each value name of ``graph`` -> the (node, input index) pairs that read it."""
    readers: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            readers.setdefault(name, []).append((node, index))
    return readers


#: Rank-1 weights that multiply (or, as a variance, divide): kept positive, near 1.
_SCALE_INPUTS = {("BatchNormalization", 1), ("BatchNormalization", 4), ("Mul", 0), ("Mul", 1)}


def _rank1_role(name: str, consumers: dict[str, list[tuple[onnx.NodeProto, int]]]) -> str:
    """'scale' when the rank-1 weight ``name`` is a batch norm's scale or variance or a
    Mul operand (looking through the Unsqueeze / Reshape that broadcast it), else
    'shift' (biases, batch-norm shifts and means, Add operands)."""
    for node, index in consumers.get(name, []):
        if node.op_type in ("Unsqueeze", "Reshape") and index == 0:
            if _rank1_role(node.output[0], consumers) == "scale":
                return "scale"
        elif (node.op_type, index) in _SCALE_INPUTS:
            return "scale"
    return "shift"


#: Outputs of the written models must match the source's within this (absolute and
#: relative) in ONNX Runtime: float32 rounding of folded batch norms.
TOLERANCE = 1e-5


def source_file(model: CorpusModel, folder: Path, seed: int = 0) -> Path:
    """The file the commands read for ``model``: the shipped file, or for a light CNN a
    copy in ``folder`` with :func:`seeded_weights`."""
    if model.family != "light":
        return model.path
    path = folder / f"{model.name}.onnx"
    onnx.save_model(seeded_weights(onnx.load(str(model.path)), seed), str(path))
    return path


def feeds_for(model: CorpusModel, session: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """The model's ``test_data_set_0`` inputs by position over the session's inputs, or
    seeded inputs (batch 1) when it has none."""
    from linkedonnx.runtime.inputs import session_inputs

    names = [arg.name for arg in session.get_inputs()]
    if model.test_data is not None:
        arrays = read_tensors(model.test_data, "input")
        if len(arrays) == len(names):
            return dict(zip(names, arrays, strict=True))
    return session_inputs(session, 1, seed)


def max_difference(want: Any, got: Any) -> float:
    """Largest |got - want| over two ONNX Runtime results (arrays or sequences of
    them), relative where |want| > 1; inf for a shape, type or length mismatch."""
    if isinstance(want, list) or isinstance(got, list):
        if not (isinstance(want, list) and isinstance(got, list) and len(want) == len(got)):
            return float("inf")
        return max((max_difference(w, g) for w, g in zip(want, got, strict=True)), default=0.0)
    want, got = np.asarray(want), np.asarray(got)
    if want.shape != got.shape or want.dtype != got.dtype:
        return float("inf")
    if not np.issubdtype(want.dtype, np.number) or want.dtype == np.bool_:
        return 0.0 if np.array_equal(want, got) else float("inf")
    if want.size == 0:
        return 0.0
    w, g = want.astype(np.float64), got.astype(np.float64)
    both_nan = np.isnan(w) & np.isnan(g)
    diff = np.where(both_nan, 0.0, np.abs(g - w) / np.maximum(1.0, np.abs(w)))
    return float(np.nan_to_num(diff, nan=np.inf).max())


def run_model(model: CorpusModel, folder: Path, seed: int = 0) -> dict[str, Any]:
    """convert and optimize ``model`` as the commands do, into ``folder``; compare the
    written models' outputs with the source's in ONNX Runtime and validate the
    optimized model against the source. Returns a JSON-ready row: ``runs`` False when
    ONNX Runtime cannot run the source (nothing else then), the exit code each command
    would give (0, 2 bad input, 3 internal error) with its first line, the read step's
    lines, linked nodes, the largest output difference of each written model,
    ``outputs_equal``, ``validate`` (passed, or why it could not run) and the ``files``
    read and written."""
    from linkedonnx.errors import BadInputError, first_line
    from linkedonnx.functions import count_linked_nodes
    from linkedonnx.onnx_io import default_opset
    from linkedonnx.passes.convert import convert_file
    from linkedonnx.passes.optimize import optimize_file
    from linkedonnx.runtime.session import make_session
    from linkedonnx.validate import validate

    folder.mkdir(parents=True, exist_ok=True)
    src = source_file(model, folder, seed)
    given = onnx.load(str(src))
    row: dict[str, Any] = {
        "model": model.label,
        "opset": default_opset(given),
        "ir": given.ir_version,
    }
    try:
        source = make_session(src, "cpu", threads=1, optimization="disable")
        feeds = feeds_for(model, source, seed)
        expected = source.run(None, feeds)
    except Exception as exc:
        row.update(runs=False, why=first_line(exc, type(exc).__name__))
        return row
    row["runs"] = True
    written = {}
    for command, run in (("convert", convert_file), ("optimize", optimize_file)):
        out = folder / f"{model.name}.{command}.onnx"
        try:
            result, report = run(src, out)
        except BadInputError as exc:
            row[command] = {"exit": 2, "error": str(exc)}
            continue
        except Exception as exc:
            row[command] = {"exit": 3, "error": f"{type(exc).__name__}: {first_line(exc)}"}
            continue
        entry: dict[str, Any] = {"exit": 0, "read": dict(report.steps[0].counts)}
        if command == "convert":
            entry["linked"] = count_linked_nodes(result)
        session = make_session(out, "cpu", threads=1)
        entry["max_diff"] = max_difference(expected, session.run(None, feeds))
        row[command] = entry
        written[command] = out
    row["files"] = {"source": str(src), **{k: str(v) for k, v in written.items()}}
    diffs = [row[c].get("max_diff", float("inf")) for c in ("convert", "optimize")]
    row["outputs_equal"] = all(d <= TOLERANCE for d in diffs)
    if "optimize" in written:
        row["validate"] = _validate(validate, written["optimize"], src, feeds, folder)
    return row


def _validate(
    validate: Any, optimized: Path, src: Path, feeds: dict[str, np.ndarray], folder: Path
) -> str:
    """'passed', 'failed', or 'n/a: <why>' for ``validate OPT --reference SRC`` on
    ``feeds`` (written to an .npz)."""
    from linkedonnx.errors import BadInputError

    npz = folder / f"{optimized.stem}.inputs.npz"
    if not all(isinstance(v, np.ndarray) for v in feeds.values()):
        return "n/a: an input is not a tensor"
    # strings as numpy str arrays: an object array cannot be read back without pickle
    np.savez(npz, **{k: v.astype(str) if v.dtype == object else v for k, v in feeds.items()})
    try:
        report = validate(optimized, reference=str(src), inputs=npz)
    except BadInputError as exc:
        return f"n/a: {exc}"
    return "passed" if report.passed else "failed"
