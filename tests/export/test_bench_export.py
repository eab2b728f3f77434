"""benchmarks/bench_export.py runs end to end on one small model (no timing claims)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_export_script_on_one_model(tmp_path, capsys) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_export", ROOT / "benchmarks/bench_export.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "export.json"
    assert module.main(["--names", "width/lk-selu", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert row["model"] == "width/lk-selu" and row["calls"] == {"LinkedSelu": 1}
    assert row["passed"] and row["inlined_equal"]
    assert row["err_b7"] <= 1e-5 + 1e-5 * 1.0
    assert "width/lk-selu" in capsys.readouterr().out
