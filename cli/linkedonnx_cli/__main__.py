"""``python -m linkedonnx_cli``."""

from linkedonnx_cli.app import main

main()
