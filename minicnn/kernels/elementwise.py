"""Elementwise activation kernels: one pass over memory instead of NumPy's several.

``np.where(x > 0, x, slope * x)`` reads ``x`` three times and writes a mask,
a scaled copy and the result; on the 1M-value activations of the seed CIFAR
model that was 1.5 ms per call. These kernels read once and write once,
in parallel over the flattened array::

    leaky_relu_forward:   y[i]  = x[i]            if x[i] > 0 else slope * x[i]
    leaky_relu_backward:  dx[i] = dy[i]           if y[i] > 0 else slope * dy[i]

The backward pass looks at the *output* ``y``: for any slope >= 0, y > 0
exactly where x > 0, so no mask needs to be kept. ``*_reference`` are the
same formulas in plain NumPy (a test proves they agree).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def leaky_relu_forward_reference(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_backward_reference(dy: np.ndarray, y: np.ndarray, slope: float) -> np.ndarray:
    return np.where(y > 0, dy, dy * dy.dtype.type(slope))


@njit(cache=True, parallel=True)
def _leaky_forward_flat(x, slope):
    y = np.empty_like(x)
    s = x.dtype.type(slope)
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else s * v
    return y


@njit(cache=True, parallel=True)
def _leaky_backward_flat(dy, y, slope):
    dx = np.empty_like(dy)
    s = dy.dtype.type(slope)
    for i in prange(dy.size):
        dx[i] = dy[i] if y[i] > 0 else s * dy[i]
    return dx


def leaky_relu_forward(x: np.ndarray, slope: float) -> np.ndarray:
    """Any shape; jitted on the flattened array (one specialization per dtype)."""
    x = np.ascontiguousarray(x)
    return _leaky_forward_flat(x.reshape(-1), float(slope)).reshape(x.shape)


def leaky_relu_backward(dy: np.ndarray, y: np.ndarray, slope: float) -> np.ndarray:
    dy = np.ascontiguousarray(dy, dtype=y.dtype)
    return _leaky_backward_flat(dy.reshape(-1), np.ascontiguousarray(y).reshape(-1), float(slope)).reshape(dy.shape)
