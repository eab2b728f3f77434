"""The commands, in the order ``--help`` lists them: (name, function) pairs.

What every command module does (tests/cli/test_startup.py, test_output_paths.py,
test_refusals.py, test_quiet.py, test_json_reports.py and test_progress.py check it):

- Imports at module top only typer, rich, the standard library and ``linkedonnx_cli``
  helpers; the library (onnx, onnxruntime, onnxscript, torch and every linkedonnx module
  that pulls them in) is imported inside the command function (types under
  TYPE_CHECKING), so ``--help`` stays fast.
- Reserves every file it will write before the work: ``with
  linkedonnx.atomic.reserve_outputs(out, json_path, plot, inputs=(model, ...)):`` around
  the work and the writes (``save_model``, ``write_text_atomic``, ``atomic_path`` write a
  reserved target into its temporary file); a folder output is checked first with
  ``linkedonnx.atomic.check_output_folder``. Exit(1) after the block, not inside it.
- Refuses options that would be ignored or are impossible with a BadInputError naming
  the flags (``linkedonnx_cli.options.at_least_one`` as the callback of counts and sizes).
- Writes ``--json`` files with ``linkedonnx.report_json.report_text(payload)`` (adds
  ``schema_version``) and describes their fields in README.md, "JSON reports", under a
  ``<!-- json: NAME -->`` table that tests/cli/test_json_reports.py checks.
- Prints its result with ``linkedonnx_cli.render.output_console()``; shows progress with
  ``with linkedonnx_cli.verbosity.progress("what") as tell:``, handing ``tell`` (a
  ``(done, total)`` callable, or None) to the library.
- Help: the docstring (line breaks inside a paragraph are joined) names options by
  their flags (``--target``, not TARGET).
"""

from linkedonnx_cli.commands import (
    bench,
    convert,
    demo,
    deploy,
    experiment,
    export,
    inspect,
    linkify,
    optimize,
    quantize,
    serve,
    train,
    validate,
    zoo,
)

COMMANDS = [
    ("demo", demo.command),
    ("train", train.command),
    ("linkify", linkify.command),
    ("export", export.command),
    ("convert", convert.command),
    ("optimize", optimize.command),
    ("quantize", quantize.command),
    ("validate", validate.command),
    ("bench", bench.command),
    ("serve", serve.command),
    ("inspect", inspect.command),
    ("zoo", zoo.command),
    ("experiment", experiment.command),
]

#: Command groups (name, typer app), listed after the commands: ``deploy triton``.
GROUPS = [("deploy", deploy.app)]
