"""sha256 of ``optimize --no-tune`` outputs of zoo exports (behaviour pinned across
refactors; issue 23). Run as a script to (re)take the hashes into
``tests/data/optimize_hashes.json``: only on code whose behaviour is the reference.

The covered models are every zoo family × every linked kind at the zoo's default
geometry (3×32×32, 10 classes, seed 0, the family's batch-norm default): exporting all
130 zoo models takes several minutes on one core, and the single and extended forms
hold no linked activation for the kind-specific passes to change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx

HASHES = Path(__file__).resolve().parents[1] / "data" / "optimize_hashes.json"

#: (target, fp16) settings each model is optimized with.
TARGETS: dict[str, dict[str, object]] = {
    "cpu": {"target": "cpu", "tune": False},
    "cuda": {"target": "cuda"},
    "cpu-fp16": {"target": "cpu", "tune": False, "fp16": True},
}

#: The zoo models covered (see the module docstring).
LINKED = ("lk-relu", "lk-relu-minmax", "lk-prelu", "lk-selu", "lk-swish")
FAMILIES = ("width", "depth", "params", "allcnn", "resnet")
MODELS = tuple(f"{family}/{kind}" for family in FAMILIES for kind in LINKED)

#: Metadata entries left out of the hash (they change with the package, not the model).
IGNORED_METADATA = ("linkedonnx.version",)
#: Node metadata left out: torch's exporter records the Python stack of each node (file
#: paths of the checkout and line numbers of linkedonnx's code, not the model).
IGNORED_NODE_METADATA = ("pkg.torch.onnx.stack_trace",)


def model_hash(model: onnx.ModelProto) -> str:
    """sha256 (hex) of ``model`` serialized deterministically, ignoring
    :data:`IGNORED_METADATA` and :data:`IGNORED_NODE_METADATA`; the model itself is left
    unchanged."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    _drop(copy.metadata_props, IGNORED_METADATA)
    for graph in (copy.graph, *copy.functions):
        for node in graph.node:
            _drop(node.metadata_props, IGNORED_NODE_METADATA)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def _drop(props, keys: tuple[str, ...]) -> None:
    """Remove the entries of ``keys`` from a repeated StringStringEntryProto field."""
    kept = [p for p in props if p.key not in keys]
    del props[:]
    props.extend(kept)


def export_zoo(name: str) -> onnx.ModelProto:
    """The export of ``zoo:NAME`` (seed 0, default geometry), as ``linkedonnx export``."""
    from linkedonnx.export import export_source

    return export_source(f"zoo:{name}").model


def optimized_hashes(model: onnx.ModelProto) -> dict[str, str]:
    """target setting -> hash of ``model`` optimized with it (see :data:`TARGETS`)."""
    from linkedonnx.passes.optimize import optimize

    out = {}
    for setting, options in TARGETS.items():
        optimized, _ = optimize(model, **options)  # type: ignore[arg-type]
        out[setting] = model_hash(optimized)
    return out


def main() -> None:
    """Take the hashes of every covered model and write them to :data:`HASHES`."""
    table = {name: optimized_hashes(export_zoo(name)) for name in MODELS}
    HASHES.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {HASHES}: {len(table)} models x {len(TARGETS)} settings")


if __name__ == "__main__":
    main()
