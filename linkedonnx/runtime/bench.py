"""Benchmarking ONNX models on a runner (ONNX Runtime or OpenVINO; no torch here).

One idea: time one or more models on the same seeded inputs, interleaved round-robin
(one run of each model per round) so that slow drifts of the machine hit every model
alike, with thread-pool spinning off so the sessions do not disturb each other.
On CUDA the inputs and outputs live on the device (IO binding), so host<->device
copies are not timed. OpenVINO runs each model compiled for the benchmark's static
shape (compiled before timing; the compile times are reported apart).

Inputs come from :func:`linkedonnx.runtime.inputs.session_inputs` (the same seeded data
validate feeds). Public API: :func:`binding_plan`, :func:`bind`, :func:`summarize`,
:func:`bench_sessions`, :func:`bench_models`, :class:`Timing`, :class:`BenchReport`.
"""

from __future__ import annotations

import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort

from linkedonnx.arrays.labelled import PreprocessOptions
from linkedonnx.errors import BadInputError
from linkedonnx.onnx_io import load_model
from linkedonnx.runners.base import Runner
from linkedonnx.runners.providers import get_provider, load_runner
from linkedonnx.runtime.inputs import data_inputs, seeded_inputs, session_inputs
from linkedonnx.runtime.session import resolve_providers

#: Device name used by IO binding for each ONNX Runtime provider name.
DEVICE_OF_PROVIDER = {"cpu": "cpu", "cuda": "cuda"}


def check_settings(batch: int, warmup: int, runs: int) -> None:
    """Raise BadInputError unless batch >= 1, warmup >= 0 and runs >= 1."""
    if batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    if warmup < 0:
        raise BadInputError(f"warmup must be at least 0, got {warmup}")
    if runs < 1:
        raise BadInputError(f"runs must be at least 1, got {runs}")


@dataclass(frozen=True)
class BindingPlan:
    """What IO binding puts where: inputs copied once to ``device``, outputs allocated there."""

    device: str
    device_id: int
    inputs: tuple[tuple[str, tuple[int, ...], str], ...]  # (name, shape, dtype)
    outputs: tuple[str, ...]


def binding_plan(
    session: ort.InferenceSession, feeds: dict[str, np.ndarray], device: str, device_id: int = 0
) -> BindingPlan:
    """Plan the IO binding of ``feeds`` and every output of ``session`` on ``device``
    ('cpu' or 'cuda'). Raises BadInputError when a session input has no feed."""
    names = [i.name for i in session.get_inputs()]
    missing = [n for n in names if n not in feeds]
    if missing:
        raise BadInputError(f"no data for model inputs {missing}")
    return BindingPlan(
        device=device,
        device_id=device_id,
        inputs=tuple((n, tuple(feeds[n].shape), feeds[n].dtype.str) for n in names),
        outputs=tuple(o.name for o in session.get_outputs()),
    )


def bind(
    session: ort.InferenceSession, feeds: dict[str, np.ndarray], plan: BindingPlan
) -> tuple[ort.IOBinding, list[ort.OrtValue]]:
    """Build the IOBinding of ``plan``: each input copied once into an OrtValue on the
    plan's device, each output bound to that device. Returns (binding, input OrtValues);
    keep the OrtValues alive as long as the binding is used."""
    binding = session.io_binding()
    values = []
    for name, _shape, _dtype in plan.inputs:
        value = ort.OrtValue.ortvalue_from_numpy(
            np.ascontiguousarray(feeds[name]), plan.device, plan.device_id
        )
        binding.bind_ortvalue_input(name, value)
        values.append(value)
    for name in plan.outputs:
        binding.bind_output(name, plan.device, plan.device_id)
    return binding, values


def make_runner(
    session: ort.InferenceSession,
    feeds: dict[str, np.ndarray],
    device: str = "cpu",
    iobinding: bool | None = None,
) -> Callable[[], None]:
    """Return a function that runs ``session`` once on ``feeds``.

    With IO binding (the default on CUDA, optional on CPU) inputs stay on ``device``
    and outputs are left there, so no copies are timed; otherwise ``session.run``.
    """
    use_binding = device != "cpu" if iobinding is None else iobinding
    if not use_binding:

        def run_plain() -> None:
            session.run(None, feeds)

        return run_plain
    plan = binding_plan(session, feeds, device)
    binding, values = bind(session, feeds, plan)

    def run_bound() -> None:
        _ = values  # keep the device copies of the inputs alive
        session.run_with_iobinding(binding)

    return run_bound


@dataclass
class Timing:
    """Statistics of one model's timed runs, in milliseconds; throughput in items/s."""

    name: str
    runs: int
    batch: int
    median_ms: float
    mean_ms: float
    min_ms: float
    p90_ms: float
    p99_ms: float
    throughput: float
    speedup: float = 1.0  # the first model's median / this median
    times_ms: list[float] = field(default_factory=list, repr=False)


def summarize(name: str, times_s: Sequence[float], batch: int) -> Timing:
    """Median, mean, min, p90, p99 (ms) and throughput (items/s at the median) of
    ``times_s`` (seconds, one per run of ``batch`` items). Raises BadInputError when empty."""
    if len(times_s) == 0:
        raise BadInputError("no timed runs to summarize")
    ms = np.asarray(times_s, dtype=np.float64) * 1e3
    median = float(np.median(ms))
    return Timing(
        name=name,
        runs=len(ms),
        batch=batch,
        median_ms=median,
        mean_ms=float(ms.mean()),
        min_ms=float(ms.min()),
        p90_ms=float(np.percentile(ms, 90)),
        p99_ms=float(np.percentile(ms, 99)),
        throughput=batch * 1e3 / median if median > 0 else float("inf"),
        times_ms=[float(t) for t in ms],
    )


def interleave(
    runners: Sequence[Callable[[], None]],
    warmup: int,
    runs: int,
    progress: Callable[[int, int], None] | None = None,
    rng: random.Random | None = None,
) -> list[list[float]]:
    """Run each runner ``warmup`` times then ``runs`` times, round-robin (one call of
    each per round); return the timed durations in seconds, one list per runner (in the
    order of ``runners``). With ``rng`` each round runs the runners in an order shuffled
    by it (no runner always follows the same one: what a call leaves in the caches and
    the thread pool does not bias one runner). ``progress(done, total)`` is told the
    rounds done after each round (outside the timed calls)."""
    total = warmup + runs
    order = list(range(len(runners)))
    for done in range(1, warmup + 1):
        if rng is not None:
            rng.shuffle(order)
        for i in order:
            runners[i]()
        if progress is not None:
            progress(done, total)
    times: list[list[float]] = [[] for _ in runners]
    clock = time.perf_counter
    for done in range(warmup + 1, total + 1):
        if rng is not None:
            rng.shuffle(order)
        for i in order:
            run = runners[i]
            start = clock()
            run()
            times[i].append(clock() - start)
        if progress is not None:
            progress(done, total)
    return times


@dataclass
class BenchReport:
    """Settings and per-model timings of one benchmark run."""

    provider: str
    providers: list[str]
    threads: int | None
    batch: int
    warmup: int
    runs: int
    seed: int
    iobinding: bool
    ort_version: str
    machine: str
    timings: list[Timing]
    #: What was fed: 'seeded' or the labelled data and its preparation.
    data: str = "seeded"
    #: The runtime behind ``provider`` and its version.
    runtime: str = "onnxruntime"
    runtime_version: str = ""
    #: OpenVINO's precision (f32 unless bf16 was asked for).
    precision: str = "f32"
    #: Model file -> its runner's settings (threads, precision, load and compile seconds).
    runners: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self, with_times: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; per-run times only when ``with_times``."""
        data = asdict(self)
        if not with_times:
            for t in data["timings"]:
                t.pop("times_ms", None)
        return data


def machine_description() -> str:
    """A short description of this machine: processor, core count, OS."""
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def bench_sessions(
    sessions: Sequence[tuple[str, ort.InferenceSession]],
    *,
    batch: int = 1,
    warmup: int = 10,
    runs: int = 100,
    seed: int = 0,
    device: str = "cpu",
    iobinding: bool | None = None,
    inputs: dict[str, np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Timing]:
    """Time named sessions interleaved on shared seeded inputs (or the given ``inputs``,
    fed to every session); return one Timing each, with ``speedup`` relative to the
    first (``progress`` as in :func:`interleave`). Raises BadInputError for bad settings."""
    check_settings(batch, warmup, runs)
    runners = [
        make_runner(s, inputs or session_inputs(s, batch, seed), device, iobinding)
        for _, s in sessions
    ]
    times = interleave(runners, warmup, runs, progress)
    timings = [summarize(name, t, batch) for (name, _), t in zip(sessions, times, strict=True)]
    for t in timings:
        t.speedup = timings[0].median_ms / t.median_ms if t.median_ms > 0 else float("inf")
    return timings


def runner_call(
    runner: Runner, feeds: dict[str, np.ndarray], iobinding: bool | None = None
) -> Callable[[], None]:
    """A function that runs ``runner`` once on ``feeds``: an ONNX Runtime runner through
    :func:`make_runner` (IO binding on CUDA, or as ``iobinding`` says), any other through
    its own :meth:`~linkedonnx.runners.base.Runner.timed_call`."""
    session = getattr(runner, "session", None)
    if runner.runtime == "onnxruntime" and session is not None:
        device = DEVICE_OF_PROVIDER[runner.settings()["provider"]]
        return make_runner(session, feeds, device, iobinding)
    if iobinding:
        raise BadInputError(f"IO binding is ONNX Runtime's; {runner.runtime} has none")
    return runner.timed_call(feeds)


def bench_models(
    paths: Sequence[str | os.PathLike[str]],
    *,
    provider: str = "cpu",
    batch: int = 1,
    threads: int | None = None,
    warmup: int = 10,
    runs: int = 100,
    seed: int = 0,
    optimization: str = "all",
    iobinding: bool | None = None,
    data: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    seeded: bool = False,
    options: PreprocessOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    precision: str = "f32",
    cache_dir: str | os.PathLike[str] | None = None,
) -> BenchReport:
    """Load ONNX files on ``provider`` (cpu, cuda: ONNX Runtime at graph ``optimization``
    level; openvino: OpenVINO at ``precision``, compiled models cached in ``cache_dir``)
    with ``threads`` and time them interleaved (see :func:`bench_sessions`; ``progress``
    is told the rounds done).

    Inputs: the first ``batch`` test samples of ``data`` (a data set name or .npz;
    None: the data set the first model records in ``linkedonnx.preprocess``), prepared
    as that model records (or as ``options`` say), when ``seeded`` is False and there
    is such data; else seeded random inputs. Returns a BenchReport. Raises BadInputError
    for a missing or invalid model, bad settings, options or data, MissingDependencyError
    when ``provider``'s runtime (or CUDA EP) is missing.
    """
    from linkedonnx.onnx_io import file_if_large

    if not paths:
        raise BadInputError("no model to benchmark")
    check_settings(batch, warmup, runs)
    if seeded and data is not None:
        raise BadInputError("--seeded and --data exclude each other")
    runtime = get_provider(provider).runtime
    providers = resolve_providers(provider) if runtime == "onnxruntime" else [provider]
    loaded: list[tuple[str, Runner]] = []
    calls = []
    inputs, described = None, "seeded"
    for path in paths:
        model = load_model(path)
        if not loaded and not seeded:
            inputs, described = _data_inputs(model, data, batch, data_dir, options)
        runner = load_runner(
            provider, file_if_large(model, path), optimization, precision, cache_dir, threads
        )
        if inputs is not None and sorted(runner.input_names) != sorted(inputs):
            raise BadInputError(
                f"{path} does not take the first model's input {sorted(inputs)}; "
                "bench them on seeded inputs (--seeded)"
            )
        session = getattr(runner, "session", None)
        feeds = inputs or (
            session_inputs(session, batch, seed)
            if runtime == "onnxruntime"
            else seeded_inputs(data_inputs(model), batch, seed)
        )
        calls.append(runner_call(runner, feeds, iobinding))
        loaded.append((str(path), runner))
    times = interleave(calls, warmup, runs, progress)
    timings = [summarize(name, t, batch) for (name, _), t in zip(loaded, times, strict=True)]
    for t in timings:
        t.speedup = timings[0].median_ms / t.median_ms if t.median_ms > 0 else float("inf")
    return BenchReport(
        provider=provider,
        providers=providers,
        threads=threads,
        batch=batch,
        warmup=warmup,
        runs=runs,
        seed=seed,
        iobinding=(provider != "cpu" if iobinding is None else iobinding)
        and runtime == "onnxruntime",
        ort_version=ort.__version__,
        machine=machine_description(),
        timings=timings,
        data=described,
        runtime=runtime,
        runtime_version=_version(runtime),
        precision=precision,
        runners={name: r.settings() for name, r in loaded},
    )


def _version(runtime: str) -> str:
    """The installed version of ``runtime`` (onnxruntime or openvino)."""
    if runtime == "onnxruntime":
        return ort.__version__
    from importlib.metadata import version

    return version(runtime)


def _data_inputs(
    model: Any,
    data: str | os.PathLike[str] | None,
    batch: int,
    data_dir: str | os.PathLike[str] | None,
    options: PreprocessOptions | None,
) -> tuple[dict[str, np.ndarray] | None, str]:
    """The first ``batch`` (a fixed batch dim: that many) prepared test samples of
    ``data`` (None: the data set ``model`` records) as feeds, with a description;
    (None, 'seeded') when no data is named and the model records none."""
    from linkedonnx.arrays.labelled import model_data
    from linkedonnx.arrays.preprocess import read_preprocess
    from linkedonnx.runtime.inputs import signature

    recorded = read_preprocess(model)
    if data is None and (recorded is None or recorded.dataset is None):
        return None, "seeded"
    sig = signature(model)[0]
    count = sig.dims[0] if sig.dims and isinstance(sig.dims[0], int) else batch
    name, labelled = model_data(model, data, options=options, limit=count, data_dir=data_dir)
    pre = labelled.preprocess
    how = f"/{pre.scale:g}" + (" standardized" if pre.standardized else "")
    return {name: labelled.first(count).astype(sig.dtype)}, f"{labelled.source} ({how})"


def time_on_provider(
    models: dict[str, Any],
    provider: str,
    *,
    batch: int = 6,
    threads: int | None = None,
    warmup: int = 3,
    runs: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """Median ms of each of ``models`` (name -> path, bytes or ModelProto with the same
    inputs) loaded on ``provider`` (:func:`~linkedonnx.runners.providers.load_runner`),
    run interleaved on the same seeded inputs at ``batch``: how optimize and quantize
    time their candidate forms on a runtime other than this process's ONNX Runtime CPU.
    Raises BadInputError for bad settings or a model the runtime cannot run."""
    check_settings(batch, warmup, runs)
    calls, feeds = [], None
    for model in models.values():
        runner = load_runner(provider, model, threads=threads)
        if feeds is None:
            proto = model if not isinstance(model, (str, os.PathLike)) else load_model(model)
            feeds = seeded_inputs(data_inputs(proto), batch, seed)
        calls.append(runner_call(runner, feeds))
    times = interleave(calls, warmup, runs)
    return {
        name: summarize(name, t, batch).median_ms for name, t in zip(models, times, strict=True)
    }
