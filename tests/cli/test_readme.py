"""README.md says what the command line takes (issue 28.5): every flag of its command
block is one its command's --help lists, every command is there, the exit-code table
is the one --help prints, every JSON table belongs to a command with --json, and the
imports it quotes from examples/journey.py are that file's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from linkedonnx_cli.app import EXIT_CODES, app
from linkedonnx_cli.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
GROUP = typer.main.get_command(app)


def help_flags(command: str | None, sub: str | None = None) -> set[str]:
    """The flags ``linkedonnx [COMMAND [SUB]] --help`` lists (hidden ones left out);
    ``sub`` names the subcommand of a command group (``deploy triton``)."""
    params = GROUP.params if command is None else GROUP.commands[command].params
    if sub is not None:
        params = GROUP.commands[command].commands[sub].params
    return {
        opt for p in params if not getattr(p, "hidden", False)
        for opt in (*p.opts, *p.secondary_opts) if opt.startswith("-")
    }  # fmt: skip


def command_block() -> list[tuple[str | None, str]]:
    """(command, text) of each ``linkedonnx ...`` entry of the block under "The command
    line", continuation lines joined; comments (after #) left out."""
    section = README.split("## The command line", 1)[1]
    block = section.split("```", 2)[1]
    entries: list[str] = []
    for line in block.splitlines():
        if line.startswith((" ", "\t")) and entries:
            entries[-1] += " " + line
        else:
            entries.append(line)
    found = []
    for entry in entries:
        text = entry.replace("\\", " ")
        text = re.sub(r"#.*?(?=(    |$))", " ", text) if "#" in text else text
        words = text.split()
        if not words or words[0] != "linkedonnx":
            continue  # torchrun ... runs the same app
        command = next((w for w in words[1:] if w.isalpha() and w.islower()), None)
        found.append((command if command in GROUP.commands else None, text))
    return found


def test_every_command_is_in_the_block() -> None:
    named = {command for command, _ in command_block()}
    assert {name for name, _ in COMMANDS} <= named


@pytest.mark.parametrize(("command", "text"), command_block())
def test_every_flag_in_the_block_is_in_help(command: str | None, text: str) -> None:
    before, _, after = text.partition(f" {command} ") if command else (text, "", "")
    root = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", before))
    flags = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", after))
    assert root <= help_flags(None) | {"--verbose", "--quiet"}, text
    group = getattr(GROUP.commands.get(command or ""), "commands", None)
    sub = after.split()[0] if group is not None else None
    missing = flags - help_flags(command, sub) - {"-m"}
    assert not missing, f"{command}: {sorted(missing)} not in --help"


def test_the_exit_code_table_is_the_one_help_prints() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", README, flags=re.M))
    assert {int(k): v for k, v in rows.items()} == EXIT_CODES


def test_every_json_table_is_a_command_with_json() -> None:
    tables = re.findall(r"<!-- json: ([\w-]+) -->", README)
    assert tables
    for name in tables:
        command = name.split("-")[0]
        assert "--json" in help_flags(command), name


def test_the_quoted_journey_imports_are_the_examples() -> None:
    quoted = README.split("<!-- imports: examples/journey.py -->", 1)[1].split("```")[1]
    source = (ROOT / "examples" / "journey.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith("from linkedonnx")]
    assert [line for line in quoted.splitlines() if line.startswith("from ")] == imports


def test_the_block_says_which_opsets_export_takes() -> None:
    from linkedonnx.export.exporter import MIN_EXPORT_OPSET

    assert f"--opset: {MIN_EXPORT_OPSET} or newer" in README


def test_the_demo_paragraph_mentions_its_int8_rows_and_its_folder() -> None:
    section = README.split("## Two commands", 1)[1].split("## ", 1)[0]
    assert "INT8" in section and "a few minutes" not in section
    assert "linkedonnx-demo/" in section and "ignored by git" in section
