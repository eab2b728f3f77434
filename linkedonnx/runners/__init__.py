"""Runners: one module per runtime, each loading a model once and running it on numpy
feeds behind the :class:`~linkedonnx.runners.base.Runner` interface; the providers a
user names with ``--provider`` are listed once, in :mod:`linkedonnx.runners.providers`."""
