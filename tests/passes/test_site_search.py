"""optimize's measured default with injected timings (no timed assertions): the choice
follows the measurements per site group, never loses to inline, is checked against each
single form as whole models at batches 1 and 32 (the smallest worst ratio to the best
wins), is cached per model structure and machine (a cache hit does no timing), and is
skipped by --no-tune, --form and a CUDA target."""

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

    def price(self, forms: dict[str, str], batch: int) -> float:
        return sum(self.cost(site, form) for site, form in forms.items())

    def __call__(
        self, models: Mapping[str, onnx.ModelProto], batch: int, runs: int, budget_s
    ) -> dict[str, float]:
        self.calls.append((batch, list(models)))
        return {name: self.price(site_forms_of(m), batch) for name, m in models.items()}


class WholeTimer(FakeTimer):
    """Prices a lowered model with ``price(site id -> form, batch)``: the whole model, so
    sites can interact and the batch can change the order."""

    def __init__(self, price) -> None:
        super().__init__(None)
        self.whole = price

    def price(self, forms: dict[str, str], batch: int) -> float:
        return self.whole(forms, batch)


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
    searched = [batch for batch, _ in timer.calls[:-2]]
    assert searched and all(batch == DEFAULT_BATCH == 6 for batch in searched)
    # the other forms measured 3x the fastest at batch 6: too slow to check at 1 and 32;
    # inline, the bound of the choice, is checked there all the same
    assert timer.calls[-2:] == [(b, [f"all {fastest}", "all inline"]) for b in (1, 32)]
    whole = json.loads(meta(out)["linkedonnx.form_choice"])["whole_model"]
    assert whole["chosen"] == f"all {fastest}" and whole["batches"] == [1, 32]
    others = {f"all {f}" for f in prices if f not in (fastest, "inline")}
    assert set(whole["dropped"]) == others and whole["worst_ratio"][f"all {fastest}"] == 1.0
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


def interacting(interactions: bool) -> WholeTimer:
    """Each site has its own fastest form at batch 6 (1.0, others 1.1); at batches 1 and
    32 stacked is as fast as the site's own form on every site and, with
    ``interactions``, each extra form in the model costs 0.5 (reorders between them)."""
    groups = list(site_groups(onnx_ir_proto(allcnn_like("relu"))).values())
    forms = ["stacked", "dw", "split"]
    wanted = {site: form for ids, form in zip(groups, forms, strict=True) for site in ids}

    def price(got: dict[str, str], batch: int) -> float:
        stacked_fast = batch != 6 and interactions
        mixing = 0.5 * (len(set(got.values())) - 1) if batch != 6 and interactions else 0.0
        fast = [f == wanted[s] or (stacked_fast and f == "stacked") for s, f in got.items()]
        return sum(1.0 if ok else 1.1 for ok in fast) + mixing

    return WholeTimer(price)


@pytest.mark.parametrize("interactions", [True, False])
def test_a_per_site_choice_that_loses_as_a_whole_at_1_and_32_is_replaced(
    interactions: bool,
) -> None:
    model = allcnn_like("relu")
    out, report = optimize(model, timer=(timer := interacting(interactions)))
    assert {b for b, _ in timer.calls} == {1, 6, 32}  # searched at 6, checked at 1 and 32
    assert [b for b, _ in timer.calls][-2:] == [1, 32]
    choice = json.loads(meta(out)["linkedonnx.form_choice"])
    whole = choice["whole_model"]
    assert choice["batch"] == 6 and whole["batches"] == [1, 32]
    assert whole["incumbent"] == "per-site choice" and not whole["dropped"]
    forms = json.loads(meta(out)["linkedonnx.lowered_forms"])
    step = next(s for s in report.steps if s.name == "ChooseForms")
    if interactions:  # mixing costs 1.0 at batches 1 and 32: all stacked is 4/3 faster
        assert forms == {"relu:stacked": 3}
        assert whole["chosen"] == "all stacked"
        assert whole["ms"]["per-site choice"] == [4.0, 4.0]
        assert whole["ms"]["all stacked"] == [3.0, 3.0]
        assert whole["worst_ratio"]["per-site choice"] == pytest.approx(4 / 3, abs=1e-4)
        assert step.counts["whole model: kept all stacked"] == 1
        assert step.counts["whole model at batch 32: all stacked ms"] == 3.0
    else:  # no interactions: the per-site choice is the fastest at every batch
        assert forms == {"relu:dw": 1, "relu:split": 1, "relu:stacked": 1}
        assert whole["chosen"] == "per-site choice"
        assert whole["worst_ratio"]["per-site choice"] == 1.0
        assert step.counts["whole model: kept per-site choice"] == 1
    assert_same(model, out)


PER_BATCH = {  # ms per site: split is best at 6 and 1, but 1.5x the best at 32
    6: {"split": 1.0, "dw": 1.1, "stacked": 1.25, "inline": 1.2},
    1: {"split": 1.0, "dw": 1.05, "stacked": 2.0, "inline": 1.2},
    32: {"split": 1.5, "dw": 1.0, "stacked": 1.2, "inline": 1.1},
}


def test_the_check_minimizes_the_worst_ratio_over_the_batches(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    timer = WholeTimer(lambda got, b: sum(PER_BATCH[b][f] for f in got.values()))
    out, report = optimize(allcnn_like("relu"), timer=timer)
    # split's worst is 1.5 (batch 32), dw's 1.05 (batch 1), inline's 1.2
    assert json.loads(meta(out)["linkedonnx.lowered_forms"]) == {"relu:dw": 3}
    whole = json.loads(meta(out)["linkedonnx.form_choice"])["whole_model"]
    assert whole["incumbent"] == "all split" and whole["chosen"] == "all dw"
    assert whole["worst_ratio"] == {"all split": 1.5, "all dw": 1.05, "all inline": 1.2}
    assert whole["slower_than_reference"] == ["all split"]  # 1.5 vs 1.1 ms at batch 32
    # stacked: 2x the best at batch 1, so not timed at batch 32
    assert whole["dropped"] == ["all stacked"] and whole["ms"]["all stacked"] == [6.0, None]
    at_32 = [names for b, names in timer.calls if b == 32]
    assert len(at_32) == 1 and "all stacked" not in at_32[0]
    step = next(s for s in report.steps if s.name == "ChooseForms")
    assert step.counts["whole model: all stacked dropped (over 1.3x the best)"] == 1
    again = WholeTimer(timer.whole)
    cached, report = optimize(allcnn_like("relu", seed=3), timer=again)
    assert again.calls == []  # a cache hit does no timing, and keeps the check's record
    assert json.loads(meta(cached)["linkedonnx.form_choice"])["whole_model"] == whole
    assert json.loads(meta(cached)["linkedonnx.lowered_forms"]) == {"relu:dw": 3}
    assert (
        "whole model: kept all dw"
        in next(s for s in report.steps if s.name == "ChooseForms").counts
    )


def test_no_choice_is_measured_slower_than_inline_at_a_checked_batch() -> None:
    per_batch = {  # split has the smallest worst ratio (1.06) but is 6% slower than inline at 1
        6: {"split": 1.0, "dw": 1.1, "stacked": 1.25, "inline": 1.2},
        1: {"split": 1.06, "dw": 1.02, "stacked": 1.25, "inline": 1.0},
        32: {"split": 1.0, "dw": 1.1, "stacked": 1.25, "inline": 1.12},
    }
    timer = WholeTimer(lambda got, b: sum(per_batch[b][f] for f in got.values()))
    out, report = optimize(allcnn_like("relu"), timer=timer)
    whole = json.loads(meta(out)["linkedonnx.form_choice"])["whole_model"]
    assert whole["incumbent"] == "all split"
    assert whole["slower_than_reference"] == ["all split", "all stacked"]
    # dw: 1.02x inline at batch 1 (within 1/0.98), worst ratio 1.1; inline's is 1.12
    assert whole["chosen"] == "all dw"
    assert json.loads(meta(out)["linkedonnx.lowered_forms"]) == {"relu:dw": 3}
    step = next(s for s in report.steps if s.name == "ChooseForms")
    assert step.counts["whole model: all split not eligible (slower than inline)"] == 1


def test_a_named_batch_is_searched_and_checked_at_that_batch_only() -> None:
    timer = WholeTimer(lambda got, b: sum(PER_BATCH[32][f] for f in got.values()))
    out, _ = optimize(allcnn_like("relu"), batch=32, timer=timer)
    assert timer.calls and {b for b, _ in timer.calls} == {32}
    choice = json.loads(meta(out)["linkedonnx.form_choice"])
    assert choice["batch"] == 32 and choice["whole_model"]["batches"] == [32]
    assert json.loads(meta(out)["linkedonnx.lowered_forms"]) == {"relu:dw": 3}


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
