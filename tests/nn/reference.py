"""Independent float64 references for the linked activations, written with numpy only.

They restate the paper's definitions (un-mirrored half first, concatenated on
``axis``) without using linkedonnx or torch, so the tests compare two separate
implementations.
"""

from __future__ import annotations

import numpy as np

# SELU constants (Klambauer et al. 2017), written out to full double precision.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def relu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, 0.0)


def selu(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def swish(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return z / (1.0 + np.exp(-z))


def prelu(z: np.ndarray, slope: np.ndarray, axis: int) -> np.ndarray:
    shape = [1] * z.ndim
    shape[axis] = -1
    return np.where(z >= 0, z, z * np.reshape(slope, shape))


def lk_relu(z: np.ndarray, axis: int, policy: str = "mirror") -> np.ndarray:
    if policy == "mirror":
        return np.concatenate([relu(z), relu(-z)], axis=axis)
    return np.concatenate([np.maximum(z, 0.0), np.minimum(z, 0.0)], axis=axis)


def lk_selu(z: np.ndarray, axis: int) -> np.ndarray:
    return np.concatenate([selu(z), selu(-z)], axis=axis)


def lk_swish(z: np.ndarray, axis: int) -> np.ndarray:
    return np.concatenate([swish(z), swish(-z)], axis=axis)


def lk_prelu(z: np.ndarray, slope_pos: np.ndarray, slope_neg: np.ndarray, axis: int) -> np.ndarray:
    return np.concatenate([prelu(z, slope_pos, axis), prelu(-z, slope_neg, axis)], axis=axis)
