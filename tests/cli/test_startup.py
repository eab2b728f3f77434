"""Start-up stays light: the CLI app and every ``COMMAND --help`` load no heavy module."""

from __future__ import annotations

import json
import subprocess
import sys

from linkedonnx_cli.commands import COMMANDS

HEAVY = ("onnx", "onnxruntime", "onnxscript", "onnx_ir", "torch")

_PROBE = """
import contextlib, io, json, sys
import linkedonnx_cli.app as app_module
after_import = sorted({m.split('.')[0] for m in sys.modules} & set(HEAVY))
for name in [None, *NAMES]:
    args = ["--help"] if name is None else [name, "--help"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        app_module.main(args)
after_help = sorted({m.split('.')[0] for m in sys.modules} & set(HEAVY))
print(json.dumps({"import": after_import, "help": after_help}))
"""


def test_importing_the_app_and_every_help_loads_no_heavy_module() -> None:
    names = [name for name, _ in COMMANDS]
    code = f"HEAVY = {HEAVY!r}\nNAMES = {names!r}\n" + _PROBE
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {"import": [], "help": []}
