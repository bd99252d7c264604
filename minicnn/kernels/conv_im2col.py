"""im2col convolution kernels: unroll the windows, then one matrix multiply.

Same signatures and results as ``conv_reference``; a different algorithm.
Every output pixel's receptive field (KH x KW x C values) is copied into one
row of a matrix, "cols", so that the whole convolution becomes a single
matrix product that NumPy hands to the machine's BLAS::

    x (N, H, W, C)  --im2col-->  cols (N*OH*OW, KH*KW*C)

    row r = (n, i, j)          [ x[n, i*sh-pt+0, j*sw-pl+0, 0..C-1],   tap (0, 0)
                                 x[n, i*sh-pt+0, j*sw-pl+1, 0..C-1],   tap (0, 1)
                                 ...                                   tap (KH-1, KW-1) ]
                                 (zeros where the window hangs over the padding)

    forward:   y  = cols @ K                   (N*OH*OW, KH*KW*C) @ (KH*KW*C, O)
    dkernel:   dK = cols.T @ dY                (KH*KW*C, N*OH*OW) @ (N*OH*OW, O)
    dx:        dcols = dY @ K.T, then col2im adds each row back onto the pixels
               it was copied from (the exact reverse of im2col)

with K = kernel.reshape(KH*KW*C, O) - the (kh, kw, in, out) layout flattens
in exactly the order of a cols row - and dY = dy.reshape(N*OH*OW, O).
im2col and col2im are memory copies (Numba, parallel over images); all the
arithmetic is in the three matrix products.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def im2col(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """x (N, H, W, C) -> cols (N*OH*OW, KH*KW*C), zeros over the padding."""
    n_batch, in_h, in_w, in_c = x.shape
    # np.empty, not np.zeros: every entry is written below (a pixel, or a 0 where
    # the window hangs over the padding), so zeroing first would write the whole
    # matrix twice - and np.zeros does that on one thread.
    cols = np.empty((n_batch * out_h * out_w, kh * kw * in_c), dtype=x.dtype)
    for ni in prange(n_batch * out_h):
        n = ni // out_h
        i = ni % out_h
        for j in range(out_w):
            row = (n * out_h + i) * out_w + j
            for p in range(kh):
                h = i * stride_h + p - pad_top
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    base = (p * kw + q) * in_c
                    if h < 0 or h >= in_h or w < 0 or w >= in_w:
                        for c in range(in_c):
                            cols[row, base + c] = 0.0
                    else:
                        for c in range(in_c):
                            cols[row, base + c] = x[n, h, w, c]
    return cols


@njit(cache=True, parallel=True)
def col2im(cols, n_batch, in_h, in_w, in_c, kh, kw, stride_h, stride_w, pad_top, pad_left,
           out_h, out_w):
    """The reverse of im2col: add every cols entry back onto its pixel -> (N, H, W, C)."""
    dx = np.empty((n_batch, in_h, in_w, in_c), dtype=cols.dtype)
    for n in prange(n_batch):  # windows of one image overlap, so one thread per image
        dx[n] = 0.0  # zeroed here, by this image's thread, rather than all at once on one
        for i in range(out_h):
            for j in range(out_w):
                row = (n * out_h + i) * out_w + j
                for p in range(kh):
                    h = i * stride_h + p - pad_top
                    if h < 0 or h >= in_h:
                        continue
                    for q in range(kw):
                        w = j * stride_w + q - pad_left
                        if w < 0 or w >= in_w:
                            continue
                        base = (p * kw + q) * in_c
                        for c in range(in_c):
                            dx[n, h, w, c] += cols[row, base + c]
    return dx


# The kernel gradient needs the cols of the forward pass of the same x.
# Rather than unroll x twice per training step, each forward keeps its cols
# here, keyed by the window geometry and tied to the very array object x
# (held, so its id cannot be reused while it is kept); conv2d_backward_kernel
# takes them if its x is that object. The forward always unrolls afresh, so
# an x changed in place (as a finite-difference check does) is never served
# stale cols by the forward; between a forward and its backward, x must not
# change - the same contract as every layer's saved input. The most recent
# few are kept: one per conv layer of a model.
_KEEP = 16
_saved: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _key(x, *geometry) -> tuple:
    return (id(x), x.shape, x.dtype.str) + geometry


def _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left) -> bool:
    """A 1x1 window, stride 1, no padding: each cols row is one pixel's channels.

    Then im2col is the identity on memory - row r = (n, i, j) of cols is
    x[n, i, j, :] - so cols is just a reshaped *view* of x, and col2im a
    reshape of dcols; no copy either way (MobileNetV2 has 35 such convolutions)::

        x (N, H, W, C)  --reshape-->  cols (N*H*W, C)
    """
    return kh == kw == 1 and stride_h == stride_w == 1 and pad_top == pad_left == 0


def _unroll_and_keep(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    if _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left):
        return np.ascontiguousarray(x).reshape(-1, x.shape[3])
    cols = im2col(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
    key = _key(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
    _saved.pop(key, None)
    if len(_saved) >= _KEEP:
        _saved.pop(next(iter(_saved)))       # drop the oldest (dicts keep insertion order)
    _saved[key] = (x, cols)
    return cols


def _kept_or_unroll(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    if _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left):
        return np.ascontiguousarray(x).reshape(-1, x.shape[3])
    hit = _saved.get(_key(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w))
    if hit is not None and hit[0] is x:
        return hit[1]
    return im2col(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)


def conv2d_forward(x, kernel, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """y = x (*) kernel. x: (N, H, W, C), kernel: (KH, KW, C, O) -> y: (N, OH, OW, O)."""
    kh, kw, in_c, out_c = kernel.shape
    cols = _unroll_and_keep(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
    y = cols @ kernel.reshape(kh * kw * in_c, out_c)
    return y.reshape(x.shape[0], out_h, out_w, out_c)


def conv2d_backward_input(dy, kernel, in_h, in_w, stride_h, stride_w, pad_top, pad_left):
    """dL/dx from dL/dy. dy: (N, OH, OW, O), kernel: (KH, KW, C, O) -> dx: (N, H, W, C)."""
    n_batch, out_h, out_w, out_c = dy.shape
    kh, kw, in_c, _ = kernel.shape
    dcols = dy.reshape(-1, out_c) @ kernel.reshape(kh * kw * in_c, out_c).T
    if _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left):
        return dcols.reshape(n_batch, in_h, in_w, in_c)
    return col2im(dcols, n_batch, in_h, in_w, in_c, kh, kw, stride_h, stride_w,
                  pad_top, pad_left, out_h, out_w)


def conv2d_backward_kernel(x, dy, kh, kw, stride_h, stride_w, pad_top, pad_left):
    """dL/dkernel. x: (N, H, W, C), dy: (N, OH, OW, O) -> dkernel: (KH, KW, C, O)."""
    _, out_h, out_w, out_c = dy.shape
    in_c = x.shape[3]
    cols = _kept_or_unroll(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
    return (cols.T @ dy.reshape(-1, out_c)).reshape(kh, kw, in_c, out_c)
