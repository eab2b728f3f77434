"""optimize's measured default with injected timings (no timed assertions): the choice
follows the measurements per site group, never loses to inline, is cached per model
structure and machine (a cache hit does no timing), and is skipped by --no-tune,
--form and a CUDA target."""

from __future__ import annotations

import json
from collections.abc import Mapping

import onnx
import pytest

from linkedonnx.errors import BadInputError
from linkedonnx.passes import form_cache
from linkedonnx.passes.optimize import optimize, prepare
from linkedonnx.passes.site_search import DEFAULT_BATCH, site_forms_of, site_groups
from tests.passes.lowering_graphs import allcnn_like
from tests.passes.test_lower_forms import assert_same


class FakeTimer:
    """Prices a lowered model as the sum over its sites of ``cost(site, form)`` (read from
    the model's ``linkedonnx.lowered_sites`` record) and counts its calls."""

    def __init__(self, cost) -> None:
        self.cost = cost
        self.calls: list[tuple[int, list[str]]] = []

    def __call__(
        self, models: Mapping[str, onnx.ModelProto], batch: int, runs: int, budget_s
    ) -> dict[str, float]:
        self.calls.append((batch, list(models)))
        return {
            name: sum(self.cost(site, form) for site, form in site_forms_of(m).items())
            for name, m in models.items()
        }


def meta(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def uniform(prices: dict[str, float]) -> FakeTimer:
    return FakeTimer(lambda site, form: prices[form])


@pytest.mark.parametrize("fastest", ["dw", "split", "stacked"])
def test_the_default_takes_the_form_measured_fastest(fastest: str) -> None:
    model = allcnn_like("relu")
    prices = {"inline": 4.0, "split": 3.0, "dw": 3.0, "stacked": 3.0, fastest: 1.0}
    out, report = optimize(model, timer=(timer := uniform(prices)))
    assert json.loads(meta(out)["linkedonnx.lowered_forms"]) == {f"relu:{fastest}": 3}
    assert timer.calls and all(batch == DEFAULT_BATCH == 6 for batch, _ in timer.calls)
    choice = json.loads(meta(out)["linkedonnx.form_choice"])
    assert choice["choice"] == "measured" and choice["measured"] and choice["batch"] == 6
    step = next(s for s in report.steps if s.name == "ChooseForms")
    assert "measured at batch 6" in step.counts and step.counts["all inline ms"] == 12.0
    assert_same(model, out)


def test_each_group_of_sites_gets_its_own_fastest_form() -> None:
    model = allcnn_like("relu")
    groups = list(site_groups(onnx_ir_proto(model)).values())
    assert len(groups) == 3  # widths 8, 8, 16 with different producers: three shapes
    # forms touch neighbours (split and dw rewrite the consumer conv, stacked the producer
    # conv), so not every combination exists; this one does
    forms = ["stacked", "dw", "split"]
    wanted = {site: form for ids, form in zip(groups, forms, strict=True) for site in ids}
    out, _ = optimize(model, timer=FakeTimer(lambda s, f: 1.0 if f == wanted[s] else 2.0))
    assert json.loads(meta(out)["linkedonnx.lowered_sites"]) == wanted
    assert json.loads(meta(out)["linkedonnx.lowered_forms"]) == {
        "relu:dw": 1,
        "relu:split": 1,
        "relu:stacked": 1,
    }
    assert_same(model, out)


@pytest.mark.parametrize("split", [1.5, 0.99])  # slower; faster but within the noise margin
def test_nothing_not_measurably_faster_than_inline_is_taken(split: float) -> None:
    prices = {"inline": 1.0, "split": split, "dw": 1.2, "stacked": 3.0}
    out, _ = optimize(allcnn_like("relu"), timer=uniform(prices))
    assert json.loads(meta(out)["linkedonnx.lowered_forms"]) == {"relu:inline": 3}


def test_a_cache_hit_does_no_timing_and_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    prices = {"inline": 4.0, "split": 3.0, "dw": 1.0, "stacked": 3.0}
    first, _ = optimize(allcnn_like("relu", seed=1), timer=uniform(prices))
    assert list((tmp_path / "linkedonnx" / "forms").glob("*.json"))
    again = uniform(prices)
    # other weights, same structure: the same entry
    second, report = optimize(allcnn_like("relu", seed=2), timer=again)
    assert again.calls == []
    step = next(s for s in report.steps if s.name == "ChooseForms")
    assert "cache hit at batch 6" in step.counts
    assert json.loads(meta(second)["linkedonnx.form_choice"])["choice"] == "cache hit"
    assert meta(second)["linkedonnx.lowered_forms"] == meta(first)["linkedonnx.lowered_forms"]
    other_batch = uniform(prices)
    optimize(allcnn_like("relu"), batch=32, timer=other_batch)
    assert other_batch.calls and other_batch.calls[0][0] == 32
    tuned = uniform(prices)
    _, report = optimize(allcnn_like("relu"), tune=True, timer=tuned)
    assert tuned.calls  # --tune measures again
    assert "tuned at batch 6" in next(s for s in report.steps if s.name == "ChooseForms").counts


def test_the_cache_key_holds_structure_cpu_isa_and_runtime() -> None:
    machine = form_cache.Machine("CPU A", ("avx2",), 2, "1.0")
    a, b = allcnn_like("relu", seed=1), allcnn_like("relu", seed=2)
    assert form_cache.cache_key(a, machine, 6, None) == form_cache.cache_key(b, machine, 6, None)
    keys = {
        form_cache.cache_key(allcnn_like("relu", widths=(8, 8, 8)), machine, 6, None),
        form_cache.cache_key(a, machine, 6, None),
        form_cache.cache_key(a, form_cache.Machine("CPU B", ("avx2",), 2, "1.0"), 6, None),
        form_cache.cache_key(a, form_cache.Machine("CPU A", ("avx512f",), 2, "1.0"), 6, None),
        form_cache.cache_key(a, form_cache.Machine("CPU A", ("avx2",), 2, "1.1"), 6, None),
        form_cache.cache_key(a, machine, 1, None),
    }
    assert len(keys) == 6


def test_the_cache_folder_follows_xdg_cache_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert form_cache.cache_folder() == tmp_path / "linkedonnx" / "forms"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert form_cache.cache_folder().parent.parent.name == ".cache"


@pytest.mark.parametrize(
    ("options", "note", "choice"),
    [
        ({"tune": False}, "not measured: --no-tune", "table"),
        (
            {"target": "cuda"},
            "not measured: target cuda is not this machine's CPU (table used)",
            "table",
        ),
        ({"form": "dw"}, None, "form dw"),
    ],
)
def test_no_tune_form_and_cuda_time_nothing(options: dict, note: str | None, choice: str) -> None:
    timer = uniform({"inline": 1.0, "split": 1.0, "dw": 1.0, "stacked": 1.0})
    out, report = optimize(allcnn_like("relu"), timer=timer, **options)
    assert timer.calls == []
    recorded = json.loads(meta(out)["linkedonnx.form_choice"])
    assert recorded == {"choice": choice, "measured": False}
    if note is not None:
        assert note in next(s for s in report.steps if s.name == "ChooseForms").counts
    if options == {"tune": False}:
        assert json.loads(meta(out)["linkedonnx.lowered_forms"]) == {"relu:split": 3}


@pytest.mark.parametrize("options", [{"tune": False}, {"form": "split"}, {"target": "cuda"}])
def test_a_batch_with_nothing_timed_is_refused(options: dict) -> None:
    with pytest.raises(BadInputError, match="--batch"):
        optimize(allcnn_like("relu"), batch=4, **options)


def onnx_ir_proto(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model as optimize measures it (prepared, before lowering)."""
    import onnx_ir as ir

    return ir.to_proto(prepare(model)[0])
