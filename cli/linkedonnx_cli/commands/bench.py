"""`linkedonnx bench` (placeholder until its issue lands)."""

from linkedonnx.errors import LinkedOnnxError


def command() -> None:
    """Not implemented yet."""
    raise LinkedOnnxError("'bench' is not implemented yet")
