"""Deployment inference (no torch): the :class:`Predictor` (recorded preprocessing,
batches, labels/probabilities/logits), the Open Inference Protocol server that
``linkedonnx serve`` runs on Ray Serve (:mod:`linkedonnx.deploy.serve`, imports ray),
and the Triton model repository writer (:mod:`linkedonnx.deploy.triton`).
"""

from linkedonnx.deploy.predictor import Predictor

__all__ = ["Predictor"]
