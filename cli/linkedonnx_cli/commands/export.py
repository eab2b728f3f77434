"""`linkedonnx export` (placeholder until its issue lands)."""

from linkedonnx.errors import LinkedOnnxError


def command() -> None:
    """Not implemented yet."""
    raise LinkedOnnxError("'export' is not implemented yet")
