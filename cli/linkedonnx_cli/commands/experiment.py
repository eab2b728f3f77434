"""`linkedonnx experiment` (placeholder until its issue lands)."""

from linkedonnx.errors import LinkedOnnxError


def command() -> None:
    """Not implemented yet."""
    raise LinkedOnnxError("'experiment' is not implemented yet")
