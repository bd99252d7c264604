"""Batch normalization in training mode: per-channel statistics, forward and backward.

The formulas are in ``minicnn/layers/batch_norm.py``. Here the data is a 2-D
view ``x (M, C)``: one column per channel, M = N*H*W rows (a contiguous NHWC
array reshapes to it without copying). ``*_reference`` is that layer's math
in plain NumPy; the jitted versions have identical signatures and results
(a test proves it) but touch memory fewer times - NumPy's version builds
``x - mu``, its square, ``x_hat``, ``gamma * x_hat`` and ``dy * x_hat`` as
separate full-size temporaries.

The jitted sums (one kernel, ``_paired_sums``, for the forward's statistics
and the backward's two sums) add every row into one float64 row per sum:
float64 running sums keep the mean of 32k float32 values exact to float32
precision.
"""

from __future__ import annotations

import numpy as np
from numba import njit

def forward_reference(x, gamma, beta, eps):
    """-> (y, x_hat, mean, var, inv_std) for x (M, C)."""
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, x_hat, mean, var, inv_std


def backward_reference(dy, x_hat, gamma, inv_std):
    """-> (dx, dgamma, dbeta) for dy, x_hat (M, C)."""
    dbeta = dy.sum(axis=0)
    dgamma = (dy * x_hat).sum(axis=0)
    m = dy.shape[0]
    dx = gamma * inv_std * (dy - dbeta / m - x_hat * (dgamma / m))
    return dx, dgamma, dbeta


@njit(cache=True)  # serial on purpose: see minicnn/_threads.py
def _paired_sums(a, b, shift):
    """Per column, in float64: sum(a - shift) and sum((a - shift) * (b - shift)).

    Forward:  a = b = x, shift = one row of x  ->  sum(d), sum(d^2) with d = x - shift
    Backward: a = dy, b = x_hat, shift = 0     ->  sum(dy), sum(dy * x_hat)
    """
    m, c = a.shape
    s1 = np.zeros(c)
    s2 = np.zeros(c)
    for i in range(m):
        for j in range(c):
            d = a[i, j] - shift[j]
            s1[j] += d
            s2[j] += d * (b[i, j] - shift[j])
    return s1, s2


@njit(cache=True)  # serial on purpose: see minicnn/_threads.py
def _normalize(x, mean, inv_std, gamma, beta, keep_x_hat):
    """y = gamma * x_hat + beta, with x_hat = (x - mean) * inv_std; x_hat is returned
    only when ``keep_x_hat`` (training needs it for backward; predict does not)."""
    m, c = x.shape
    y = np.empty_like(x)
    x_hat = np.empty_like(x) if keep_x_hat else np.empty((0, c), dtype=x.dtype)
    for i in range(m):
        for j in range(c):
            h = (x[i, j] - mean[j]) * inv_std[j]
            if keep_x_hat:
                x_hat[i, j] = h
            y[i, j] = gamma[j] * h + beta[j]
    return y, x_hat


@njit(cache=True)  # serial on purpose: see minicnn/_threads.py
def _grad_input(dy, x_hat, scale, mean_dy, mean_dy_xhat):
    m, c = dy.shape
    dx = np.empty_like(dy)
    for i in range(m):
        for j in range(c):
            dx[i, j] = scale[j] * (dy[i, j] - mean_dy[j] - x_hat[i, j] * mean_dy_xhat[j])
    return dx


def normalize(x, mean, inv_std, gamma, beta):
    """-> y for x (M, C) and given statistics (inference: the moving ones)."""
    dtype = x.dtype
    y, _ = _normalize(x, mean.astype(dtype), inv_std.astype(dtype), gamma.astype(dtype),
                      beta.astype(dtype), False)
    return y


def forward(x, gamma, beta, eps):
    """Same as :func:`forward_reference`, jitted: one pass for the statistics, one to normalise."""
    m = x.shape[0]
    dtype = x.dtype
    # sum(x^2)/M - mean^2 loses digits when the mean is large against the spread;
    # shifting every column by one of its own values first (any value near the
    # mean does) keeps the subtraction small: var = E[d^2] - E[d]^2, d = x - shift.
    shift = x[0].copy()
    total, squares = _paired_sums(x, x, shift)
    mean_d = total / m
    mean = shift + mean_d
    var = np.maximum(squares / m - mean_d * mean_d, 0.0)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(dtype)
    y, x_hat = _normalize(x, mean.astype(dtype), inv_std, gamma, beta, True)
    return y, x_hat, mean.astype(dtype), var.astype(dtype), inv_std


def backward(dy, x_hat, gamma, inv_std):
    """Same as :func:`backward_reference`, jitted."""
    dy = np.ascontiguousarray(dy, dtype=x_hat.dtype)
    m = dy.shape[0]
    dbeta, dgamma = _paired_sums(dy, x_hat, np.zeros(dy.shape[1], dtype=dy.dtype))
    dtype = x_hat.dtype
    dx = _grad_input(dy, x_hat, (gamma * inv_std).astype(dtype), (dbeta / m).astype(dtype),
                     (dgamma / m).astype(dtype))
    return dx, dgamma.astype(dtype), dbeta.astype(dtype)
