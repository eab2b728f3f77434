"""linkedonnx: linked neurons (CReLU family) from training to ONNX deployment.

The torch world (``nn``, ``zoo``, ``data``, ``train``, ``export``) and the ONNX world
(``functions``, ``passes``, ``runtime``) meet only in :mod:`linkedonnx.export`.
The ONNX world never imports torch.
"""

__version__ = "0.1.0"

#: The ONNX domain of every linked-activation function this package writes.
DOMAIN = "linkedonnx"
