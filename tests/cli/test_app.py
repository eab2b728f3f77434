"""The CLI frame: version, help, and errors as one line with the right exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from linkedonnx import __version__
from linkedonnx.errors import BadInputError
from linkedonnx_cli import app as app_module


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkedonnx_cli", *args], capture_output=True, text=True, timeout=120
    )


def test_version_and_help() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"linkedonnx {__version__}"
    helped = _run("--help")
    assert helped.returncode == 0
    for name in ("export", "convert", "optimize", "validate", "bench", "train", "inspect"):
        assert name in helped.stdout


def test_unknown_option_is_a_usage_error() -> None:
    result = _run("zoo", "--no-such-option")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_library_error_becomes_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def boom() -> None:
        raise BadInputError("model file x.onnx does not exist\nsecond line")

    monkeypatch.setattr(app_module, "app", _single_command_app(boom))
    with pytest.raises(SystemExit) as exit_info:
        app_module.main(["boom"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "linkedonnx: error: model file x.onnx does not exist"


def test_internal_error_is_one_line_with_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken() -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.delenv("LINKEDONNX_DEBUG", raising=False)
    monkeypatch.setattr(app_module, "app", _single_command_app(broken))
    with pytest.raises(SystemExit) as exit_info:
        app_module.main(["boom"])
    assert exit_info.value.code == 3
    assert "Traceback" not in capsys.readouterr().err


def _single_command_app(function):
    import typer

    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("boom")(function)

    @app.callback()
    def _root() -> None:
        """Test app."""

    return app


def test_cli_start_does_not_import_torch() -> None:
    """convert/optimize/validate/bench start without torch; only commands that need it load it."""
    code = "import sys, linkedonnx_cli.app; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("args", "says"),
    [(["train", "-x", "1"], "No such option: -x (see linkedonnx train --help)"),
     (["convert"], "Missing argument"),
     (["nosuch"], "No such command 'nosuch'")],
)  # fmt: skip
def test_usage_errors_are_one_linkedonnx_line(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28.4: typer's boxed "Error: No such option" became the usual one line."""
    with pytest.raises(SystemExit) as exc:
        app_module.main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith("linkedonnx: error: ") and err.count("\n") == 1, err
    assert says in err
