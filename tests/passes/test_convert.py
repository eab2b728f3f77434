"""The convert pipeline and its file-to-file helper on hand-built graphs: every
spelling, look-alikes, fusion, pass-through of unlinked models, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from graphs import (
    LINKED_SPELLINGS,
    LOOKALIKES,
    SPELLINGS,
    GraphBuilder,
    assert_same_outputs,
    count_linked,
    linked_chain,
    op_counts,
    spelling_model,
    two_branch_model,
)

from linkedonnx.errors import BadInputError
from linkedonnx.functions import op_type
from linkedonnx.passes.convert import convert, convert_file, convert_passes, rule_counts


def converted(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
    out, report = convert(model)
    onnx.checker.check_model(out, full_check=True)
    return out, rule_counts(report)


@pytest.mark.parametrize("name", LINKED_SPELLINGS)
def test_every_spelling_becomes_its_function(name: str) -> None:
    before = spelling_model(name, 1)
    after, _ = converted(before)
    assert count_linked(after) == {op_type(SPELLINGS[name].kind): 1}
    assert [f.name for f in after.functions] == [op_type(SPELLINGS[name].kind)]
    assert_same_outputs(before, after, exact=True)


@pytest.mark.parametrize("name", LOOKALIKES)
def test_lookalikes_pass_through(name: str) -> None:
    before = spelling_model(name, 1)
    after, counts = converted(before)
    assert count_linked(after) == {}
    assert set(counts) <= {"merged_duplicate_nodes"}  # CSE may merge duplicates, no more
    if not counts:
        assert op_counts(after) == op_counts(before)
    assert set(op_counts(after)) == set(op_counts(before))
    assert_same_outputs(before, after, exact=True)


def test_model_with_nothing_linked_is_unchanged_in_outputs_and_ops() -> None:
    b = GraphBuilder(1)
    x = b.input((2, 3, 4, 4), "x")
    h = b.unary("Relu", b.conv(x, 4, k=3))
    h = b.binary("Add", b.unary("Sigmoid", b.conv(h, 4)), h)
    y = b.transpose(b.binary("Mul", h, b.unary("Neg", h)), [0, 2, 3, 1])
    before = b.model([y])
    after, counts = converted(before)
    assert not counts
    assert op_counts(after) == op_counts(before)
    assert not after.functions
    assert {o.domain for o in after.opset_import} == {""}
    assert_same_outputs(before, after, exact=True)


def test_input_proto_is_not_modified() -> None:
    before = linked_chain(["relu", "selu"])
    snapshot = before.SerializeToString()
    convert(before)
    assert before.SerializeToString() == snapshot


def test_mixed_chain_converts_each_layer() -> None:
    acts = ["relu-where", "minmax-clip", "crelu-nhwc", "prelu-where", "selu", "swish"]
    before = linked_chain([*acts, "plain:Relu"])
    after, counts = converted(before)
    assert count_linked(after) == {
        "LinkedRelu": 2,
        "LinkedReluMinMax": 1,
        "LinkedPRelu": 1,
        "LinkedSelu": 1,
        "LinkedSwish": 1,
    }
    assert op_counts(after)["Relu"] == 1  # the plain activation stays
    assert "Transpose" not in op_counts(after)
    assert counts["LinkedRelu(transposes cancelled)"] == 1
    assert_same_outputs(before, after, exact=True)


def test_function_form_passes_through() -> None:
    before = linked_chain(["fn:relu", "fn:relu-minmax", "fn:selu", "fn:swish", "fn:prelu"])
    after, counts = converted(before)
    assert not [k for k in counts if k.startswith("Linked")]
    assert count_linked(after) == count_linked(before)
    assert_same_outputs(before, after, exact=True)


@pytest.mark.parametrize("mode", ["same", "copy", "negated"])
@pytest.mark.parametrize("op", ["Conv", "Gemm", "MatMul"])
def test_fused_branches_become_linked_relu(op: str, mode: str) -> None:
    before = two_branch_model(op, mode)
    after, counts = converted(before)
    assert count_linked(after) == {"LinkedRelu": 1}
    assert op_counts(after)[op] == 1
    assert counts["LinkedRelu(mirror)"] == 1
    assert_same_outputs(before, after, exact=False)


def test_one_element_off_branches_stay_flat() -> None:
    before = two_branch_model("Conv", "one-off")
    after, _ = converted(before)
    assert count_linked(after) == {} and op_counts(after)["Conv"] == 2
    assert_same_outputs(before, after, exact=True)


def test_duplicate_negs_are_merged_before_recognition() -> None:
    b = GraphBuilder(2)
    x = b.input((2, 4, 3, 3), "x")
    n1, n2 = b.unary("Neg", x), b.unary("Neg", x)
    swish = b.concat(
        [b.binary("Mul", x, b.unary("Sigmoid", x)), b.binary("Mul", n1, b.unary("Sigmoid", n2))],
        1,
    )
    before = b.model([swish])
    after, counts = converted(before)
    assert count_linked(after) == {"LinkedSwish": 1}
    assert counts["merged_duplicate_nodes"] >= 1
    assert_same_outputs(before, after, exact=True)


def test_two_linked_activations_of_one_tensor_share_a_neg() -> None:
    b = GraphBuilder(3)
    x = b.input((2, 4, 3, 3), "x")
    z = b.conv(x, 4)
    before = b.model([b.spelling("relu", z, 1), b.spelling("selu", z, 1)])
    after, _ = converted(before)
    assert count_linked(after) == {"LinkedRelu": 1, "LinkedSelu": 1}
    assert_same_outputs(before, after, exact=True)


def test_old_opset_converts_minmax_with_the_older_body() -> None:
    # Opset 13 lacks LinkedReluMinMax's CastLike: the function gets its older body.
    b = GraphBuilder(4, opset=13)
    x = b.input((2, 4, 3, 3), "x")
    before = b.model([b.spelling("minmax", x, 1), b.spelling("relu", b.unary("Sigmoid", x), 1)])
    after, _ = converted(before)
    assert count_linked(after) == {"LinkedRelu": 1, "LinkedReluMinMax": 1}
    assert_same_outputs(before, after, exact=True)


@pytest.mark.parametrize("opset", [13, 15, 18, 21])
def test_function_bodies_follow_the_model_opset(opset: int) -> None:
    b = GraphBuilder(5, opset=opset)
    x = b.input((2, 4, 3, 3), "x")
    before = b.model([b.spelling("minmax", x, 1)])
    after, _ = converted(before)
    (fn,) = after.functions
    assert {o.domain: o.version for o in fn.opset_import}[""] == opset
    assert_same_outputs(before, after, exact=True)


def test_convert_does_not_import_torch() -> None:
    code = "import sys, linkedonnx.passes.convert; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=300).returncode == 0


def test_convert_passes_is_a_fresh_pass_list() -> None:
    first, second = convert_passes(), convert_passes()
    assert [type(p) for p in first] == [type(p) for p in second]
    assert all(a is not b for a, b in zip(first, second, strict=True))


# -- files -----------------------------------------------------------------------------


@pytest.fixture
def flat_file(tmp_path: Path) -> Path:
    path = tmp_path / "flat.onnx"
    onnx.save(linked_chain(["relu-where", "prelu"]), path)
    return path


def test_convert_file_writes_model_and_json(flat_file: Path, tmp_path: Path) -> None:
    out, js = tmp_path / "out.onnx", tmp_path / "report.json"
    model, _ = convert_file(flat_file, out, js)
    written = onnx.load(out)
    assert count_linked(written) == {"LinkedRelu": 1, "LinkedPRelu": 1}
    onnx.checker.check_model(written, full_check=True)
    data = json.loads(js.read_text())
    assert data["rules"]["LinkedRelu(mirror)"] == 1
    assert data["rules"]["LinkedPRelu(mirror)"] == 1
    assert data["linked_nodes"] == {"LinkedRelu": 1, "LinkedPRelu": 1}
    assert [s["pass"] for s in data["steps"][:2]] == ["Read", "InferShapesPass"]
    assert_same_outputs(onnx.load(flat_file), written, exact=True)
    assert count_linked(model) == count_linked(written)


def test_convert_file_reads_external_weights(tmp_path: Path) -> None:
    before = linked_chain(["relu", "selu"])
    src = tmp_path / "ext.onnx"
    stored = onnx.ModelProto()
    stored.CopyFrom(before)  # onnx.save turns the tensors it externalizes into references
    onnx.save(stored, src, save_as_external_data=True, location="ext.bin", size_threshold=0)
    out = tmp_path / "out.onnx"
    convert_file(src, out)
    (tmp_path / "ext.bin").unlink()  # the output carries its weights inline
    after = onnx.load(out)
    assert count_linked(after) == {"LinkedRelu": 1, "LinkedSelu": 1}
    assert_same_outputs(before, after, exact=True)


def _state(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), os.stat(path).st_mtime_ns


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    cases: dict[str, Path] = {}
    text = tmp_path / "text.onnx"
    text.write_text("this is not an ONNX file\n")
    cases["text"] = text
    rand = tmp_path / "random.onnx"
    rand.write_bytes(np.random.default_rng(0).bytes(4096))
    cases["random bytes"] = rand
    full = linked_chain(["relu"]).SerializeToString()
    trunc = tmp_path / "truncated.onnx"
    trunc.write_bytes(full[: len(full) // 2])
    cases["truncated"] = trunc
    # Valid for onnx.checker, but ONNX Runtime has no kernel for the op.
    b = GraphBuilder(1)
    x = b.input((2, 3), "x")
    unknown = b.node("NoSuchOp", [x], (2, 3), domain="com.example")
    m = b.model([unknown], check=False)
    m.opset_import.append(onnx.helper.make_opsetid("com.example", 1))
    ort_bad = tmp_path / "ort_cannot_load.onnx"
    onnx.save(m, ort_bad)
    cases["ORT cannot load"] = ort_bad
    # Accepted by the plain ONNX checker, rejected by its full check (a Relu whose
    # output is declared int64): the file is the user's to fix.
    b = GraphBuilder(2)
    x = b.input((2, 3), "x")
    mistyped = b.model([b.unary("Relu", x)])
    mistyped.graph.output[0].type.tensor_type.elem_type = onnx.TensorProto.INT64
    onnx.checker.check_model(mistyped)
    bad_types = tmp_path / "fails_full_check.onnx"
    onnx.save(mistyped, bad_types)
    cases["fails the full ONNX check"] = bad_types
    # External weights whose data file is missing.
    ext_model = linked_chain(["relu"])
    ext = tmp_path / "external.onnx"
    onnx.save(
        ext_model,
        ext,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="external.bin",
        size_threshold=0,
    )
    (tmp_path / "external.bin").unlink()
    cases["external data missing"] = ext
    return cases


def test_bad_inputs_raise_one_line_and_write_nothing(tmp_path: Path) -> None:
    for label, path in _bad_inputs(tmp_path).items():
        before = _state(path)
        out = tmp_path / f"out_{path.stem}.onnx"
        js = tmp_path / f"out_{path.stem}.json"
        with pytest.raises(BadInputError) as info:
            convert_file(path, out, js)
        assert "\n" not in str(info.value), label
        assert not out.exists() and not js.exists(), label
        assert _state(path) == before, label
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_output_equal_to_input_is_refused(flat_file: Path) -> None:
    before = _state(flat_file)
    with pytest.raises(BadInputError, match="overwrite"):
        convert_file(flat_file, flat_file)
    with pytest.raises(BadInputError, match="overwrite"):
        convert_file(flat_file, flat_file.parent / "o.onnx", flat_file)
    assert _state(flat_file) == before
    assert not (flat_file.parent / "o.onnx").exists()
