"""Numba pooling kernels: the formulas of ``pool_reference``, jitted.

Same signatures and results as the reference kernels, on one thread (a
parallel loop costs more to start than these passes take: see
``minicnn/_threads.py``). The backward passes scatter with ``+=``, because
two windows can send gradient to the same input pixel when they overlap
(stride < pool size).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def window(i, stride, pad, pool, size):
    """The cells [start, stop) of window i along one axis: from i * stride - pad,
    ``pool`` cells, clipped to the input (the padding holds no cells)."""
    start = i * stride - pad
    return max(start, 0), min(start + pool, size)


@njit(cache=True, nogil=True)  # serial on purpose: see minicnn/_threads.py
def max_pool2d_forward(x, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """Return ``(y, argmax)``: y (N, OH, OW, C) and the flat index h*W + w of each max.

    The indices are int32 here (the reference's are int64; the values are the
    same): half the memory, and the backward compares them with a cell index
    as wide as the float32 gradients, so that its loop vectorizes.
    """
    n_batch, in_h, in_w, chans = x.shape
    y = np.empty((n_batch, out_h, out_w, chans), dtype=x.dtype)
    argmax = np.empty((n_batch, out_h, out_w, chans), dtype=np.int32)
    for ni in range(n_batch * out_h):
        n = ni // out_h
        i = ni % out_h
        h0, h1 = window(i, stride_h, pad_top, pool_h, in_h)
        for j in range(out_w):
            w0, w1 = window(j, stride_w, pad_left, pool_w, in_w)
            # The window's first cell starts as the max of every channel; then each
            # cell is compared, channels innermost, so that the loop reads x along
            # its contiguous last axis (the reference's order, channel outermost,
            # jumps C values at every step).
            for c in range(chans):
                y[n, i, j, c] = x[n, h0, w0, c]
                argmax[n, i, j, c] = h0 * in_w + w0
            for h in range(h0, h1):
                for w in range(w0, w1):
                    for c in range(chans):
                        v = x[n, h, w, c]
                        if v > y[n, i, j, c]:  # strict: ties keep the first max (row-major)
                            y[n, i, j, c] = v
                            argmax[n, i, j, c] = h * in_w + w
    return y, argmax


@njit(cache=True, nogil=True)  # serial on purpose: see minicnn/_threads.py
def max_pool2d_backward(dy, argmax, in_h, in_w, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    """dx (N, H, W, C): each dy (N, OH, OW, C) value goes to its window's recorded maximum."""
    if stride_h >= pool_h and stride_w >= pool_w:
        return _max_pool_backward_tiled(dy, argmax, in_h, in_w, stride_h, stride_w, pad_top, pad_left)
    n_batch, out_h, out_w, chans = dy.shape
    dx = np.empty((n_batch, in_h, in_w, chans), dtype=dy.dtype)
    for n in range(n_batch):
        dx[n] = 0.0  # zeroed just before this image's gradient is scattered into it (still in cache)
        # One image as (H*W, C): row h*W + w is pixel (h, w), so the recorded
        # flat index is the row itself - no division back into (h, w) per value
        # (that division made this loop 2-3x slower).
        pixels = dx[n].reshape(in_h * in_w, chans)
        for i in range(out_h):
            for j in range(out_w):
                for c in range(chans):
                    pixels[argmax[n, i, j, c], c] += dy[n, i, j, c]
    return dx


@njit(cache=True, nogil=True)  # serial on purpose: see minicnn/_threads.py
def _max_pool_backward_tiled(dy, argmax, in_h, in_w, stride_h, stride_w, pad_top, pad_left):
    """The same, when windows do not overlap (stride >= pool size, the usual case).

    Then every cell (h, w) lies in at most one window, (i, j) =
    ((h + pt) // sh, (w + pl) // sw) - if that window reaches it at all (with
    stride > pool some cells lie between windows; no argmax ever names them,
    so they get 0 below like every cell that is not a maximum) - so each cell of
    dx can be written once - dy where the window's maximum is this cell, else
    0 - instead of zeroing dx and then adding into it: half the writes, and a
    loop over channels that vectorizes.
    """
    n_batch, out_h, out_w, chans = dy.shape
    dx = np.empty((n_batch, in_h, in_w, chans), dtype=dy.dtype)
    for nh in range(n_batch * in_h):
        n = nh // in_h
        h = nh % in_h
        i = (h + pad_top) // stride_h
        for w in range(in_w):
            j = (w + pad_left) // stride_w
            cell = np.int32(h * in_w + w)
            if i < out_h and j < out_w:
                # a cell the window does not reach (stride > pool) never is its argmax: 0
                for c in range(chans):
                    dx[n, h, w, c] = dy[n, i, j, c] if argmax[n, i, j, c] == cell else 0
            else:
                for c in range(chans):  # past the last window ('valid' drops the remainder)
                    dx[n, h, w, c] = 0
    return dx


@njit(cache=True, nogil=True)  # serial on purpose: see minicnn/_threads.py
def avg_pool2d_forward(x, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """y (N, OH, OW, C): the mean of the image cells of each window."""
    n_batch, in_h, in_w, chans = x.shape
    y = np.zeros((n_batch, out_h, out_w, chans), dtype=x.dtype)
    for ni in range(n_batch * out_h):
        n = ni // out_h
        i = ni % out_h
        h0, h1 = window(i, stride_h, pad_top, pool_h, in_h)
        for j in range(out_w):
            w0, w1 = window(j, stride_w, pad_left, pool_w, in_w)
            inv_count = 1.0 / ((h1 - h0) * (w1 - w0))
            for h in range(h0, h1):
                for w in range(w0, w1):
                    for c in range(chans):
                        y[n, i, j, c] += x[n, h, w, c]
            for c in range(chans):
                y[n, i, j, c] *= inv_count
    return y


@njit(cache=True, nogil=True)  # serial on purpose: see minicnn/_threads.py
def avg_pool2d_backward(dy, in_h, in_w, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    """dx (N, H, W, C): each window shares its dy equally among its image cells."""
    n_batch, out_h, out_w, chans = dy.shape
    dx = np.zeros((n_batch, in_h, in_w, chans), dtype=dy.dtype)
    for n in range(n_batch):
        for i in range(out_h):
            h0, h1 = window(i, stride_h, pad_top, pool_h, in_h)
            for j in range(out_w):
                w0, w1 = window(j, stride_w, pad_left, pool_w, in_w)
                inv_count = 1.0 / ((h1 - h0) * (w1 - w0))
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        for c in range(chans):
                            dx[n, h, w, c] += dy[n, i, j, c] * inv_count
    return dx
