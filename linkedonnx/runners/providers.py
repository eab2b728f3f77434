"""The one list of providers: each ``--provider`` value, the runtime behind it, the pip
extra it needs, the runner class that serves it (imported only when used), and what
optimize does for it. Every command's ``--provider`` (and optimize's ``--target``)
takes these names; ONNX Runtime's execution providers are mapped here too."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linkedonnx.errors import BadInputError, MissingDependencyError

if TYPE_CHECKING:  # the runner classes are imported on first use
    from linkedonnx.runners.base import Runner


@dataclass(frozen=True)
class Provider:
    """One ``--provider`` value: ``name`` (cpu, cuda, ...), the ``runtime`` serving it,
    the importable ``module`` that runtime needs, the ``install`` hint printed when it is
    missing, ``runner`` ("package.module:Class", imported on first use), the ONNX
    Runtime ``execution_providers`` it maps to (in order; empty for another runtime) and
    the ``lowering`` optimize applies for it: "cpu" (each linked site's form timed on this
    machine with this provider's runner) or "cuda" (the CUDA table, nothing timed), and
    the ``device`` the model's tensors live on ("cpu" or "cuda": IO binding, Triton's
    instance kind)."""

    name: str
    runtime: str
    description: str
    module: str
    install: str
    runner: str
    execution_providers: tuple[str, ...] = ()
    lowering: str = "cpu"
    device: str = "cpu"

    def installed(self) -> bool:
        """Whether the runtime's Python package can be imported (does not import it)."""
        return importlib.util.find_spec(self.module) is not None

    def runner_class(self) -> type[Runner]:
        """The runner class, imported now. Raises MissingDependencyError (one line, with
        the pip command) when the runtime is not installed."""
        if not self.installed():
            raise MissingDependencyError(
                f"--provider {self.name} needs {self.runtime}: {self.install}"
            )
        module_name, _, class_name = self.runner.partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    def load(self, model: Any, **options: Any) -> Runner:
        """Load ``model`` (path, bytes or ModelProto) on this provider; ``options`` are
        the runner's keyword arguments (threads, precision, cache_dir, ...); those given
        as None are left to the runner's default. Raises BadInputError (one line) for an
        option this provider's runner does not take."""
        cls = self.runner_class()
        given = {k: v for k, v in options.items() if v is not None}
        takes = inspect.signature(cls.__init__).parameters
        unknown = [k for k in given if k not in takes]
        if unknown:
            flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
            raise BadInputError(f"--provider {self.name} ({self.runtime}) takes no {flags}")
        return cls(model, provider=self.name, **given)


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            name="cpu",
            runtime="onnxruntime",
            description="ONNX Runtime, CPU execution provider (the default)",
            module="onnxruntime",
            install="pip install onnxruntime",
            runner="linkedonnx.runners.onnxruntime_runner:OnnxRuntimeRunner",
            execution_providers=("CPUExecutionProvider",),
        ),
        Provider(
            name="cuda",
            runtime="onnxruntime",
            description="ONNX Runtime, CUDA execution provider (CPU for unsupported nodes)",
            module="onnxruntime",
            install="pip install onnxruntime-gpu (in place of onnxruntime) and a matching"
            " CUDA runtime",
            runner="linkedonnx.runners.onnxruntime_runner:OnnxRuntimeRunner",
            execution_providers=("CUDAExecutionProvider", "CPUExecutionProvider"),
            lowering="cuda",
            device="cuda",
        ),
        Provider(
            name="openvino",
            runtime="openvino",
            description="OpenVINO, CPU device (f32 unless --precision bf16)",
            module="openvino",
            install="pip install 'linkedonnx[openvino]'",
            runner="linkedonnx.runners.openvino_runner:OpenVinoRunner",
        ),
    )
}


def provider_names() -> list[str]:
    """Every ``--provider`` value, in registry order (for help texts and checks)."""
    return list(PROVIDERS)


def provider_help(what: str) -> str:
    """A ``--provider`` help text: ``what`` it picks, then the values with the runtime
    behind each, e.g. 'Where to run: cpu (onnxruntime), cuda (onnxruntime).'"""
    names = ", ".join(f"{p.name} ({p.runtime})" for p in PROVIDERS.values())
    return f"{what}: {names}."


def get_provider(name: str) -> Provider:
    """The provider called ``name``. Raises BadInputError (one line) for an unknown one."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise BadInputError(
            f"unknown provider {name!r}; expected one of {', '.join(PROVIDERS)}"
        ) from None


def load_runner(
    provider: str,
    model: Any,
    optimization: str = "all",
    precision: str = "f32",
    cache_dir: str | os.PathLike[str] | None = None,
    threads: int | None = None,
) -> Runner:
    """``model`` loaded on ``provider`` with ``threads`` (None: the runtime's default):
    ONNX Runtime's graph ``optimization`` level only when not its default ("all"), OpenVINO's
    ``precision`` only when not f32 and ``cache_dir`` when given, so each runner is
    handed only options it takes. Raises BadInputError for an option the provider's
    runner does not take, MissingDependencyError when its runtime is not installed."""
    return get_provider(provider).load(
        model,
        optimization=None if optimization == "all" else optimization,
        precision=None if precision == "f32" else precision,
        cache_dir=cache_dir,
        threads=threads,
    )


def runner_label(runner: Runner) -> str:
    """How a report names a runner: 'onnxruntime cpu', 'openvino f32', 'openvino bf16'."""
    settings = runner.settings()
    provider = settings.get("provider")
    label = runner.runtime + (f" {provider}" if provider and provider != runner.runtime else "")
    return label + (f" {settings['precision']}" if "precision" in settings else "")
