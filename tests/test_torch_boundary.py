"""The ONNX side never imports torch: each of its modules, imported on its own in a fresh
interpreter, leaves torch (and the torch-side packages) unloaded.

Modules are found by walking the ONNX-side packages, so a new module in functions/,
passes/, runtime/, the torch-free data package (arrays/) or a quantization package is
checked without editing this list.
"""

from __future__ import annotations

import importlib.util
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

# Whole packages on the ONNX side (every submodule is checked), then single modules.
ONNX_PACKAGES = (
    "linkedonnx.functions",
    "linkedonnx.passes",
    "linkedonnx.runtime",
    "linkedonnx.deploy",
)
OPTIONAL_PACKAGES = ("linkedonnx.arrays", "linkedonnx.quantize", "linkedonnx.quantization")
ONNX_MODULES = (
    "linkedonnx.validate",
    "linkedonnx.onnx_io",
    "linkedonnx.dead_unit_report",
    "linkedonnx.sources",
    "linkedonnx.source_ref",
    "linkedonnx.errors",
    "linkedonnx.atomic",
    "linkedonnx.cpu",
    "linkedonnx.json_object",
    "linkedonnx.runners",
    "linkedonnx.runners.base",
    "linkedonnx.runners.providers",
    "linkedonnx.runners.onnxruntime_runner",
    "linkedonnx.runners.reference_runner",
)
# What may not be loaded as a side effect: torch, and the packages of the torch world.
FORBIDDEN = ("torch", "linkedonnx.train", "linkedonnx.nn", "linkedonnx.export")


def _exists(name: str) -> bool:
    """True when module or package ``name`` is part of this checkout's linkedonnx (an
    editable install elsewhere can make find_spec see another tree's modules)."""
    import linkedonnx

    path = Path(linkedonnx.__file__).parent.joinpath(*name.split(".")[1:])
    return path.is_dir() or path.with_suffix(".py").is_file()


def _onnx_side_modules() -> list[str]:
    found: list[str] = []
    for package in (*ONNX_PACKAGES, *(p for p in OPTIONAL_PACKAGES if _exists(p))):
        found.append(package)
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations is not None
        found += [
            f"{package}.{info.name}"
            for info in pkgutil.iter_modules(spec.submodule_search_locations)
        ]
    return found + [m for m in ONNX_MODULES if _exists(m)]


# One helper interpreter loads the third-party ONNX libraries (checking they leave torch
# alone), then forks one child per module: each child starts with no linkedonnx module
# loaded, imports its module alone and reports what came with it. Forking saves each
# child the seconds of importing onnx/onnxscript/onnxruntime again.
_CHECKER = """
import importlib, json, os, sys
forbidden = {forbidden!r}
for lib in ("numpy", "onnx", "onnx_ir", "onnxscript", "onnxruntime"):
    importlib.import_module(lib)
preloaded = [m for m in forbidden if m in sys.modules]
results = {{}}
for module in {modules!r}:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            text = json.dumps([m for m in forbidden if m in sys.modules])
        except BaseException as exc:
            text = json.dumps("error: " + type(exc).__name__ + ": " + str(exc))
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        results[module] = json.loads(pipe.read() or '"error: no report"')
    os.waitpid(pid, 0)
print(json.dumps({{"preloaded": preloaded, "results": results}}))
"""


@pytest.fixture(scope="module")
def loaded_by() -> dict[str, list[str] | str]:
    """Module -> the forbidden modules importing it loaded (or an 'error: ...' text)."""
    code = _CHECKER.format(forbidden=FORBIDDEN, modules=_onnx_side_modules())
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["preloaded"] == [], f"the ONNX libraries load {report['preloaded']}"
    return report["results"]


def test_the_walk_finds_the_onnx_side() -> None:
    modules = _onnx_side_modules()
    for expected in (
        "linkedonnx.passes.convert",
        "linkedonnx.runtime.bench",
        "linkedonnx.functions.inline",
        "linkedonnx.validate",
    ):
        assert expected in modules


def test_the_check_catches_a_torch_import(loaded_by: dict) -> None:
    """The same checker flags a module that does load torch (it is not blind)."""
    code = _CHECKER.format(forbidden=FORBIDDEN, modules=["linkedonnx.export"])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "torch" in report["results"]["linkedonnx.export"]


@pytest.mark.parametrize("module", _onnx_side_modules())
def test_onnx_side_module_does_not_load_torch(module: str, loaded_by: dict) -> None:
    assert loaded_by[module] == [], f"importing {module} alone loads {loaded_by[module]}"
