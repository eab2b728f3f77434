"""Every --json file carries schema_version and exactly the fields README.md describes
("JSON reports"), with the types it gives (issue 17.7)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from linkedonnx.report_json import SCHEMA_VERSION
from tests.cli.tiny_models import conv_crelu_conv

README = Path(__file__).resolve().parents[2] / "README.md"
KINDS = (
    "convert", "optimize", "validate", "validate-data", "bench", "inspect", "zoo", "linkify",
    "quantize",
)  # fmt: skip
TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def described(kind: str) -> dict[str, list[str]]:
    """README's table for ``kind``: field path -> allowed type names."""
    text = README.read_text()
    start = text.index(f"<!-- json: {kind} -->")
    fields: dict[str, list[str]] = {}
    for line in text[start:].splitlines()[3:]:
        if not line.startswith("|"):
            break
        name, types, _ = (cell.strip() for cell in line.strip("|").split("|", 2))
        fields[name] = [t.strip() for t in types.split(" or ")]
    return fields


def actual(payload: dict[str, Any]) -> dict[str, list[Any]]:
    """Field path -> every value it has in ``payload`` (``a[].b`` for array elements)."""
    values: dict[str, list[Any]] = {}
    for key, value in payload.items():
        values.setdefault(key, []).append(value)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                for sub, sub_value in item.items():
                    values.setdefault(f"{key}[].{sub}", []).append(sub_value)
    return values


def _is(value: Any, type_names: list[str]) -> bool:
    if isinstance(value, bool):
        return "boolean" in type_names
    return any(isinstance(value, TYPES[name]) for name in type_names)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Run every command that writes a --json report; return each file's content."""
    folder = tmp_path_factory.mktemp("json")
    model = conv_crelu_conv(folder / "m.onnx", weights_as_inputs=False)
    geometry = ["--in-channels", "1", "--image-size", "8", "--num-classes", "4"]
    classifier = folder / "z.onnx"
    runs = {
        "export": ["export", "zoo:params/lk-relu", "-o", classifier, *geometry],
        "convert": ["convert", model, "-o", folder / "c.onnx"],
        "optimize": ["optimize", folder / "c.onnx", "-o", folder / "o.onnx"],
        "validate": ["validate", folder / "o.onnx", "--reference", model, "--per-layer"],
        "validate-data": [
            "validate",
            classifier,
            "--reference",
            "zoo:params/lk-relu",
            "--data",
            "synthetic",
            "--no-standardize",
        ],
        "bench": ["bench", model, folder / "o.onnx", "--runs", "3", "--warmup", "1"],
        "inspect": ["inspect", "zoo:params/lk-relu", "--data", "synthetic", "--samples", "128"],
        "zoo": ["zoo", "--family", "params"],
        "linkify": ["linkify", "zoo:params/relu", "-o", folder / "l.safetensors"],
        "quantize": [
            "quantize",
            classifier,
            "-o",
            folder / "q.onnx",
            "--data",
            "synthetic",
            "--samples",
            "16",
            "--no-standardize",
        ],
    }
    from linkedonnx_cli import app as app_module

    result = {}
    for kind, args in runs.items():
        path = folder / f"{kind}.json"
        json_args = [] if kind == "export" else ["--json", str(path)]  # export writes none
        with pytest.raises(SystemExit) as code:
            app_module.main([str(a) for a in args] + json_args)
        if kind == "export":
            assert (code.value.code or 0) == 0, kind
            continue
        assert (code.value.code or 0) == 0, kind
        result[kind] = json.loads(path.read_text())
    return result


@pytest.mark.parametrize("kind", KINDS)
def test_json_file_matches_its_readme_description(
    kind: str, written: dict[str, dict[str, Any]]
) -> None:
    payload = written[kind]
    assert next(iter(payload)) == "schema_version"
    assert payload["schema_version"] == SCHEMA_VERSION
    fields = described(kind)
    values = actual(payload)
    assert set(values) == set(fields), f"undocumented or missing fields in {kind}"
    for name, seen in values.items():
        for value in seen:
            assert _is(value, fields[name]), (kind, name, value, fields[name])


def test_readme_says_which_test_checks_it() -> None:
    assert "tests/cli/test_json_reports.py" in README.read_text()
    assert re.search(r"now (\d+)", README.read_text()).group(1) == str(SCHEMA_VERSION)
