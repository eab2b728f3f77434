"""`linkedonnx convert` (placeholder until its issue lands)."""

from linkedonnx.errors import LinkedOnnxError


def command() -> None:
    """Not implemented yet."""
    raise LinkedOnnxError("'convert' is not implemented yet")
