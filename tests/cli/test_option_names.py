"""One option name per idea across the commands (issue 28.6): ``-o/--out`` for every
output, file or folder; ``--batch`` for the samples of one batch; ``--samples`` for how
many samples; choices listed as plain words. The old spellings still work, unlisted."""

from __future__ import annotations

import pytest
import typer

from linkedonnx_cli.app import app
from linkedonnx_cli.options import OLD_SPELLINGS, new_spellings
from tests.cli.invoke import run_cli

COMMANDS = {info.name: info for info in app.registered_commands}


def flags(command: str, *, hidden: bool = False) -> set[str]:
    """Every flag of ``command`` (hidden ones only when ``hidden``); a command group's
    (``deploy``) are its subcommands' flags."""
    group = typer.main.get_command(app)
    found = group.commands[command]  # type: ignore[attr-defined]
    subs = getattr(found, "commands", {}).values()
    params = [p for c in (found, *subs) for p in c.params]
    return {
        opt for p in params if hidden or not getattr(p, "hidden", False)
        for opt in (*p.opts, *p.secondary_opts)
    }  # fmt: skip


@pytest.mark.parametrize("command", ["linkify", "export", "convert", "optimize", "quantize",
                                     "train", "experiment", "demo"])  # fmt: skip
def test_every_output_is_o_or_out(command: str) -> None:
    assert {"-o", "--out"} <= flags(command)
    assert "--output" not in flags(command, hidden=True)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_one_name_per_idea(command: str) -> None:
    shown = flags(command)
    for old in ("--batch-size", "--limit", "--train-subset", "--batches", "--output"):
        assert old not in shown, (command, old)


@pytest.mark.parametrize(
    ("command", "old", "new"),
    [(c, old, new) for c, renames in sorted(OLD_SPELLINGS.items()) for old, new in renames.items()],
)
def test_old_spellings_are_accepted_as_the_new_ones(command: str, old: str, new: str) -> None:
    assert new in flags(command)
    assert new_spellings(["--quiet", command, "x", old, "3"]) == ["--quiet", command, "x", new, "3"]
    assert new_spellings([command, f"{old}=3"]) == [command, f"{new}=3"]
    assert new_spellings(["zoo", old]) == ["zoo", old]  # only the command's own


@pytest.mark.parametrize(
    ("args", "flag"),
    [(["validate", "m.onnx", "--limit", "0"], "--samples"),
     (["train", "--model", "params/lk-relu", "--batch-size", "0"], "--batch"),
     (["inspect", "zoo:params/lk-relu", "--batch-size=0"], "--batch")],
)  # fmt: skip
def test_an_old_spelling_reaches_the_option(
    args: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and err == f"linkedonnx: error: {flag} must be at least 1, got 0\n"


@pytest.mark.parametrize(
    ("args", "listed"),
    [(["optimize", "{m}", "-o", "{o}", "--target", "nope"], "cpu, cuda"),
     (["train", "--model", "params/lk-relu", "--optimizer", "nope"], "sgd, adam, adam-keras, rmsprop")],
)  # fmt: skip
def test_choices_are_listed_as_words(
    args: list[str], listed: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.tiny_models import relu_model

    relu_model(tmp_path / "m.onnx")
    names = {"m": str(tmp_path / "m.onnx"), "o": str(tmp_path / "o.onnx")}
    code, _, err = run_cli(capsys, *(a.format(**names) for a in args))
    assert code == 2 and f"expected one of {listed}" in err, err
    assert "(" not in err.split("expected one of")[1] and "[" not in err


def test_the_calibration_methods_are_listed_as_words() -> None:
    from linkedonnx.errors import BadInputError
    from linkedonnx.quantize.static import _calibration_method

    with pytest.raises(BadInputError, match=r"expected one of minmax, entropy, percentile$"):
        _calibration_method("nope")
