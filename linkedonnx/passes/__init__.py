"""Graph passes over onnx_ir models (no torch here): one pass or rule family per file,
composed into the ``convert`` and ``optimize`` pipelines."""
