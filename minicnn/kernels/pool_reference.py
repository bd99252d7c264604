"""Reference pooling kernels: one window at a time, in plain NumPy.

Shapes (NHWC)::

    x   (N, H, W, C)     ->     y   (N, OH, OW, C)

Each output pixel looks at the window of rows ``i*sh - pt ... i*sh - pt + PH - 1``
and columns ``j*sw - pl ... j*sw - pl + PW - 1`` of its own channel, clipped
to the image: padding cells take no part (for max pooling they act as -inf,
for average pooling they are not counted - TensorFlow's rule).

Max pooling::

    y[n, i, j, c] = max over the window of x[n, h, w, c]
    dx[n, h*, w*, c] += dy[n, i, j, c]     (h*, w*) = position of that max

On ties the whole gradient goes to the *first* maximum in row-major order
(TensorFlow does the same). ``argmax`` records ``h* * W + w*`` per output so
that the backward pass is a plain scatter.

Average pooling, with ``count`` = number of image cells in the window::

    y[n, i, j, c] = sum over the window of x[n, h, w, c] / count
    dx[n, h, w, c] += dy[n, i, j, c] / count      for every (h, w) in the window
"""

from __future__ import annotations

import numpy as np


def _window(i: int, j: int, in_h: int, in_w: int, pool_h: int, pool_w: int,
            stride_h: int, stride_w: int, pad_top: int, pad_left: int) -> tuple[int, int, int, int]:
    """Rows [h0, h1) and columns [w0, w1) of window (i, j), clipped to the image."""
    h0 = i * stride_h - pad_top
    w0 = j * stride_w - pad_left
    return max(h0, 0), min(h0 + pool_h, in_h), max(w0, 0), min(w0 + pool_w, in_w)


def max_pool2d_forward(x, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """Return ``(y, argmax)``: y (N, OH, OW, C) and the flat index h*W + w of each max."""
    n_batch, in_h, in_w, chans = x.shape
    y = np.empty((n_batch, out_h, out_w, chans), dtype=x.dtype)
    argmax = np.empty((n_batch, out_h, out_w, chans), dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            h0, h1, w0, w1 = _window(i, j, in_h, in_w, pool_h, pool_w,
                                     stride_h, stride_w, pad_top, pad_left)
            # (N, wh, ww, C) -> (N, wh*ww, C): row-major order, so np.argmax's
            # "first occurrence" is the first maximum in row-major order.
            window = x[:, h0:h1, w0:w1, :].reshape(n_batch, -1, chans)
            k = window.argmax(axis=1)  # (N, C)
            width = w1 - w0
            y[:, i, j, :] = np.take_along_axis(window, k[:, None, :], axis=1)[:, 0, :]
            argmax[:, i, j, :] = (h0 + k // width) * in_w + (w0 + k % width)
    return y, argmax


def max_pool2d_backward(dy, argmax, in_h, in_w, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    """Scatter dy (N, OH, OW, C) to the recorded maxima -> dx (N, H, W, C).

    The window arguments are not needed here - argmax already says where each
    value goes - but both pools' backward passes take the same arguments in
    every implementation; ``pool_numba`` uses them to write each cell once.
    """
    n_batch, out_h, out_w, chans = dy.shape
    dx = np.zeros((n_batch, in_h * in_w, chans), dtype=dy.dtype)
    batch_idx = np.arange(n_batch)[:, None]
    chan_idx = np.arange(chans)[None, :]
    for i in range(out_h):
        for j in range(out_w):
            # np.add.at accumulates when overlapping windows chose the same pixel.
            np.add.at(dx, (batch_idx, argmax[:, i, j, :], chan_idx), dy[:, i, j, :])
    return dx.reshape(n_batch, in_h, in_w, chans)


def avg_pool2d_forward(x, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """y (N, OH, OW, C): the mean of the image cells of each window."""
    n_batch, in_h, in_w, chans = x.shape
    y = np.empty((n_batch, out_h, out_w, chans), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            h0, h1, w0, w1 = _window(i, j, in_h, in_w, pool_h, pool_w,
                                     stride_h, stride_w, pad_top, pad_left)
            y[:, i, j, :] = x[:, h0:h1, w0:w1, :].mean(axis=(1, 2))
    return y


def avg_pool2d_backward(dy, in_h, in_w, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left):
    """dx (N, H, W, C): each window shares its dy equally among its image cells."""
    n_batch, out_h, out_w, chans = dy.shape
    dx = np.zeros((n_batch, in_h, in_w, chans), dtype=dy.dtype)
    for i in range(out_h):
        for j in range(out_w):
            h0, h1, w0, w1 = _window(i, j, in_h, in_w, pool_h, pool_w,
                                     stride_h, stride_w, pad_top, pad_left)
            count = (h1 - h0) * (w1 - w0)
            dx[:, h0:h1, w0:w1, :] += (dy[:, i, j, :] / count)[:, None, None, :]
    return dx
