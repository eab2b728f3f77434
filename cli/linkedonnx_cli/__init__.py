"""The typer front end of linkedonnx: one small module per command, library calls only."""
