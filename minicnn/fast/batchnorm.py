"""Batch normalization in training mode, fused: what it accelerates is
``minicnn/layers/batch_norm.py``, whose formulas these kernels compute.

The data is a 2-D view ``x (M, C)``: one column per channel, M = N*H*W rows
(a contiguous NHWC array reshapes to it without copying). NumPy's version
builds ``x - mu``, its square, ``x_hat``, ``gamma * x_hat`` and ``dy * x_hat``
as separate full-size temporaries; here the forward is one pass for the
statistics and one to normalise, the backward one pass for the two sums and
one for dx. ``*_reference`` is the layer's math in NumPy; tests hold the
kernels to it.

The sums add every row into one float64 row per sum (float64 running sums
keep the mean of 32k float32 values exact to float32 precision). x_hat is not
kept between the passes: the backward rebuilds it from x (which the layer
before keeps anyway) and the batch mean, value by value, inside its own loops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

def forward_reference(x, gamma, beta, eps):
    """-> (y, mean, var, inv_std) for x (M, C)."""
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, mean, var, inv_std


def backward_reference(dy, x, mean, gamma, inv_std):
    """-> (dx, dgamma, dbeta) for dy, x (M, C) and the forward's mean and inv_std."""
    x_hat = (x - mean) * inv_std
    dbeta = dy.sum(axis=0)
    dgamma = (dy * x_hat).sum(axis=0)
    m = dy.shape[0]
    dx = gamma * inv_std * (dy - dbeta / m - x_hat * (dgamma / m))
    return dx, dgamma, dbeta


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _shifted_sums(x, shift):
    """Per column, in float64: sum(d) and sum(d^2) with d = x - shift (see forward),
    d itself in float64 (a float32 difference would round)."""
    m, c = x.shape
    s1 = np.zeros(c)
    s2 = np.zeros(c)
    for i in range(m):
        for j in range(c):
            d = np.float64(x[i, j]) - shift[j]
            s1[j] += d
            s2[j] += d * d
    return s1, s2


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _grad_sums(dy, x, mean, inv_std):
    """Per column, in float64: sum(dy) and sum(dy * x_hat), x_hat = (x - mean) * inv_std."""
    m, c = dy.shape
    s1 = np.zeros(c)
    s2 = np.zeros(c)
    for i in range(m):
        for j in range(c):
            s1[j] += dy[i, j]
            s2[j] += dy[i, j] * ((x[i, j] - mean[j]) * inv_std[j])
    return s1, s2


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _normalize(x, mean, inv_std, gamma, beta):
    """y = gamma * x_hat + beta, with x_hat = (x - mean) * inv_std."""
    m, c = x.shape
    y = np.empty_like(x)
    for i in range(m):
        for j in range(c):
            y[i, j] = gamma[j] * ((x[i, j] - mean[j]) * inv_std[j]) + beta[j]
    return y


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _grad_input(dy, x, mean, inv_std, scale, mean_dy, mean_dy_xhat):
    m, c = dy.shape
    dx = np.empty_like(dy)
    for i in range(m):
        for j in range(c):
            x_hat = (x[i, j] - mean[j]) * inv_std[j]
            dx[i, j] = scale[j] * (dy[i, j] - mean_dy[j] - x_hat * mean_dy_xhat[j])
    return dx


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _grad_input_over(dy, x, mean, inv_std, scale, mean_dy, mean_dy_xhat):
    """_grad_input written over dy: a kernel of its own (see elementwise's ``out=``)."""
    m, c = dy.shape
    for i in range(m):
        for j in range(c):
            x_hat = (x[i, j] - mean[j]) * inv_std[j]
            dy[i, j] = scale[j] * (dy[i, j] - mean_dy[j] - x_hat * mean_dy_xhat[j])


def normalize(x, mean, inv_std, gamma, beta):
    """-> y for x (M, C) and given statistics (inference: the moving ones)."""
    dtype = x.dtype
    return _normalize(x, mean.astype(dtype), inv_std.astype(dtype), gamma.astype(dtype), beta.astype(dtype))


def forward(x, gamma, beta, eps):
    """Same as :func:`forward_reference`, jitted: one pass for the statistics, one to normalise."""
    m = x.shape[0]
    dtype = x.dtype
    # sum(x^2)/M - mean^2 loses digits when the mean is large against the spread;
    # shifting every column by one of its own values first (any value near the
    # mean does) keeps the subtraction small: var = E[d^2] - E[d]^2, d = x - shift.
    shift = x[0].astype(np.float64)
    total, squares = _shifted_sums(x, shift)
    mean_d = total / m
    mean = shift + mean_d
    var = np.maximum(squares / m - mean_d * mean_d, 0.0)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(dtype)
    mean = mean.astype(dtype)
    return _normalize(x, mean, inv_std, gamma, beta), mean, var.astype(dtype), inv_std


def backward(dy, x, mean, gamma, inv_std, over: bool = False):
    """Same as :func:`backward_reference`, jitted: x_hat is rebuilt inside both passes.

    ``over``: dx is written over dy (which must then be a contiguous array of x's dtype).
    """
    dtype = x.dtype
    if not over:
        dy = np.ascontiguousarray(dy, dtype=dtype)
    elif not (dy.flags.c_contiguous and dy.flags.writeable and dy.dtype == dtype):
        raise ValueError(f"batchnorm.backward(over=True) needs a contiguous, writeable {dtype} dy")
    m = dy.shape[0]
    dbeta, dgamma = _grad_sums(dy, x, mean, inv_std)
    per_channel = ((gamma * inv_std).astype(dtype), (dbeta / m).astype(dtype), (dgamma / m).astype(dtype))
    if over:
        _grad_input_over(dy, x, mean, inv_std, *per_channel)
        dx = dy
    else:
        dx = _grad_input(dy, x, mean, inv_std, *per_channel)
    return dx, dgamma.astype(dtype), dbeta.astype(dtype)
