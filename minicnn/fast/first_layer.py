"""A first convolution keeps its unrolled input (im2col's cols) for its kernel gradient.

What it accelerates: ``Conv2D.kernel_gradient`` on the im2col backend
(``minicnn/kernels/conv_im2col.py``), for a network's first layer.

im2col's kernel gradient unrolls x again rather than keep the forward's
cols, because cols is KH*KW times the size of x and would crowd the caches
until the backward pass. For a first layer, one to three channels, the trade
goes the other way: its im2col is the slowest per byte written (each tap
copies one to three values) and its cols is small. So the fast training step
asks for the whole cols with the forward and hands it to the kernel gradient:
the same groups of rows and the same products as the plain path, so the same
bits.
"""

from __future__ import annotations

import numpy as np

from ..kernels.conv_im2col import _KGRAD_BYTES, _groups, _kernel_product, _pointwise, im2col
from ..kernels.geometry import Geometry


def keeps_cols(x_shape: tuple[int, ...], kernel_size: tuple[int, int], strides: tuple[int, int],
               geo: Geometry, itemsize: int) -> bool:
    """Is it worth keeping this convolution's cols for the kernel gradient?

    When x has fewer than 4 channels and the whole cols fits the kernel
    gradient's budget (which then unrolls the batch in one group anyway).
    """
    n_batch, _, _, in_c = x_shape
    kh, kw = kernel_size
    if in_c >= 4 or _pointwise(kh, kw, strides[0], strides[1], geo.pad_top, geo.pad_left):
        return False
    return n_batch * geo.out_h * geo.out_w * kh * kw * in_c * itemsize <= _KGRAD_BYTES


def forward_keeping_cols(x: np.ndarray, kernel: np.ndarray, strides: tuple[int, int],
                         geo: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """conv2d_forward, and the whole cols (N*OH*OW, KH*KW*C) -> (y, cols).

    The products are taken over the same groups of rows as conv2d_forward's,
    each group unrolled into its own rows of cols and multiplied while in cache.
    """
    kh, kw, in_c, out_c = kernel.shape
    n_batch, pixels = x.shape[0], geo.out_h * geo.out_w
    cols = np.empty((n_batch * pixels, kh * kw * in_c), dtype=x.dtype)
    weights = kernel.reshape(kh * kw * in_c, out_c)
    y = np.empty((n_batch * pixels, out_c), dtype=np.result_type(x.dtype, kernel.dtype))
    for images in _groups(n_batch, pixels * cols.shape[1] * x.itemsize):
        block = slice(images.start * pixels, images.stop * pixels)
        im2col(x[images], cols[block], kh, kw, strides[0], strides[1], geo.pad_top, geo.pad_left,
               geo.out_h, geo.out_w)
        np.matmul(cols[block], weights, out=y[block])
    return y.reshape(n_batch, geo.out_h, geo.out_w, out_c), cols


def kernel_gradient_from_cols(cols: np.ndarray, dz: np.ndarray, kernel_shape: tuple[int, ...]) -> np.ndarray:
    """conv2d_backward_kernel from the forward's cols. dz: (N, OH, OW, O) -> (KH, KW, C, O)."""
    out_c = dz.shape[3]
    part = _kernel_product(cols, dz.reshape(-1, out_c), dz.shape[0])
    return np.ascontiguousarray(part).reshape(kernel_shape)
