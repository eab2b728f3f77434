"""`linkedonnx inspect` (placeholder until its issue lands)."""

from linkedonnx.errors import LinkedOnnxError


def command() -> None:
    """Not implemented yet."""
    raise LinkedOnnxError("'inspect' is not implemented yet")
