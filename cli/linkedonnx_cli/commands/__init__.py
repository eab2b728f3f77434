"""The commands, in the order ``--help`` lists them: (name, function) pairs."""

from linkedonnx_cli.commands import (
    bench,
    convert,
    demo,
    experiment,
    export,
    inspect,
    linkify,
    optimize,
    quantize,
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
    ("inspect", inspect.command),
    ("zoo", zoo.command),
    ("experiment", experiment.command),
]
