"""Reference 2-D convolution kernels: plain loops that read like the formulas.

Shapes (NHWC, Keras layout)::

    x       (N, H, W, C)         input batch
    kernel  (KH, KW, C, O)       one KH x KW x C filter per output channel
    y       (N, OH, OW, O)       output

Forward (a cross-correlation, as in every deep-learning library)::

    y[n, i, j, o] = sum_{p, q, c} x[n, i*sh + p - pt, j*sw + q - pl, c] * kernel[p, q, c, o]

where (pt, pl) is the top/left padding and x is taken as 0 outside the image.
For each output position (i, j) and kernel tap (p, q), the sum over input
channels c for every image n and output channel o is one small matrix
product ``x[:, h, w, :] @ kernel[p, q]`` of shapes (N, C) @ (C, O) -> (N, O).

Backward, given dy = dL/dy of shape (N, OH, OW, O): every forward term
``x[.., h, w, c] * kernel[p, q, c, o]`` sends its share of dy back to both
factors::

    dx[n, h, w, c]     += dy[n, i, j, o] * kernel[p, q, c, o]
    dkernel[p, q, c, o] += x[n, h, w, c]  * dy[n, i, j, o]

The Numba kernels in ``conv_numba`` have the same signatures and are tested
to agree with these.
"""

from __future__ import annotations

import numpy as np


def conv2d_forward(
    x: np.ndarray, kernel: np.ndarray, stride_h: int, stride_w: int,
    pad_top: int, pad_left: int, out_h: int, out_w: int,
) -> np.ndarray:
    """y = x (*) kernel. x: (N, H, W, C), kernel: (KH, KW, C, O) -> y: (N, OH, OW, O)."""
    n_batch, in_h, in_w, _ = x.shape
    kh, kw, _, out_c = kernel.shape
    y = np.zeros((n_batch, out_h, out_w, out_c), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if not 0 <= h < in_h:
                    continue  # this tap falls on padding: it adds 0
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    if not 0 <= w < in_w:
                        continue
                    y[:, i, j, :] += x[:, h, w, :] @ kernel[p, q]
    return y


def conv2d_backward_input(
    dy: np.ndarray, kernel: np.ndarray, in_h: int, in_w: int,
    stride_h: int, stride_w: int, pad_top: int, pad_left: int,
) -> np.ndarray:
    """dL/dx from dL/dy. dy: (N, OH, OW, O), kernel: (KH, KW, C, O) -> dx: (N, H, W, C)."""
    n_batch, out_h, out_w, _ = dy.shape
    kh, kw, in_c, _ = kernel.shape
    dx = np.zeros((n_batch, in_h, in_w, in_c), dtype=dy.dtype)
    for i in range(out_h):
        for j in range(out_w):
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if not 0 <= h < in_h:
                    continue  # gradient of a padding cell is dropped
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    if not 0 <= w < in_w:
                        continue
                    # (N, O) @ (O, C): every output channel sends dy back through its weight.
                    dx[:, h, w, :] += dy[:, i, j, :] @ kernel[p, q].T
    return dx


def conv2d_backward_kernel(
    x: np.ndarray, dy: np.ndarray, kh: int, kw: int,
    stride_h: int, stride_w: int, pad_top: int, pad_left: int,
) -> np.ndarray:
    """dL/dkernel. x: (N, H, W, C), dy: (N, OH, OW, O) -> dkernel: (KH, KW, C, O)."""
    _, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = dy.shape
    dkernel = np.zeros((kh, kw, in_c, out_c), dtype=dy.dtype)
    for i in range(out_h):
        for j in range(out_w):
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if not 0 <= h < in_h:
                    continue
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    if not 0 <= w < in_w:
                        continue
                    # (C, N) @ (N, O): sums x * dy over the batch for this tap.
                    dkernel[p, q] += x[:, h, w, :].T @ dy[:, i, j, :]
    return dkernel
