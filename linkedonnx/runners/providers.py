"""The one list of providers: each ``--provider`` value, the runtime behind it, the pip
extra it needs, the runner class that serves it (imported only when used), and what
optimize does for it. Every command's ``--provider`` (and optimize's ``--target``)
takes these names; ONNX Runtime's execution providers are mapped here too."""

from __future__ import annotations

import importlib
import importlib.util
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
        the runner's keyword arguments (threads, ...)."""
        return self.runner_class()(model, provider=self.name, **options)


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
