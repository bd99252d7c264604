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
im2col and col2im are memory copies (Numba, one thread); all the
arithmetic is in the three matrix products. For a large batch the rows are
taken a group of images at a time (see "batching" below): the same products,
cut into blocks of rows, so that cols stays in the cache.

The kernel gradient unrolls x again rather than keep the forward's cols
until the backward pass: cols is KH*KW times the size of x, and holding it
between the passes pushes everything else out of the caches. (The fast
training step keeps a first layer's small cols: ``minicnn/fast/first_layer.py``.)
Measurements behind these choices: ``docs/speed.md``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def im2col(x, cols, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """Fill cols (N*OH*OW, KH*KW*C) from the windows of x (N, H, W, C), zeros over the padding.

    Every entry is written (a pixel, or a 0), so the caller may hand in np.empty.
    """
    n_batch, in_h, in_w, in_c = x.shape
    if in_c < 4:  # an image's own channels (grey, RGB): the loop order below suits them better
        _im2col_few_channels(x, cols, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
        return
    for ni in range(n_batch * out_h):
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


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _im2col_few_channels(x, cols, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """im2col with the output column j innermost: the same entries, another order.

    Above, the innermost loop copies the C channels of one tap; with one to
    three channels (a network's first layer) that loop is too short to pay for
    its own setup. Here each cols column (one tap p, q and channel c) is
    filled along a row of windows at a time.
    """
    n_batch, in_h, in_w, in_c = x.shape
    for ni in range(n_batch * out_h):
        n = ni // out_h
        i = ni % out_h
        first_row = ni * out_w                      # the row of window (n, i, 0)
        for p in range(kh):
            h = i * stride_h + p - pad_top
            for q in range(kw):
                for c in range(in_c):
                    col = (p * kw + q) * in_c + c
                    for j in range(out_w):
                        w = j * stride_w + q - pad_left
                        if 0 <= h < in_h and 0 <= w < in_w:
                            cols[first_row + j, col] = x[n, h, w, c]
                        else:
                            cols[first_row + j, col] = 0.0


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def col2im(cols, dx, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """The reverse of im2col: add every cols entry back onto its pixel of dx (N, H, W, C).

    dx is overwritten (zeroed first); the caller hands in the block to fill.
    """
    n_batch, in_h, in_w, in_c = dx.shape
    for n in range(n_batch):
        dx[n] = 0.0  # zeroed just before this image's windows are added into it (still in cache)
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


# ---------------------------------------------------------------- batching
# The cols matrix is KH*KW*C times larger than x. Built whole for a large
# batch, it falls out of the caches between im2col writing it and the matrix
# multiply reading it, and every call maps fresh pages from the OS. So the
# batch is cut into groups of images whose cols fit in a budget, and each
# group is unrolled and multiplied in turn. The groups depend only on the
# shapes, so every pass of the same batch cuts it the same way. The forward
# and the input gradient use groups of about 3 MB; the kernel gradient sums
# over the rows of cols and wants them longer (6 MB).
_CHUNK_BYTES = 3 * 2**20
_KGRAD_BYTES = 6 * 2**20


def _groups(n_batch: int, cols_bytes_per_image: int, budget: int | None = None) -> list[slice]:
    """Split range(n_batch) into near-equal runs whose cols fit in ``budget`` (default _CHUNK_BYTES)."""
    per_group = max(1, (budget or _CHUNK_BYTES) // max(1, cols_bytes_per_image))
    count = -(-n_batch // per_group)                # ceil division
    size = -(-n_batch // count)                     # spread the images evenly
    return [slice(a, min(n_batch, a + size)) for a in range(0, n_batch, size)]


def _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left) -> bool:
    """A 1x1 window, stride 1, no padding: each cols row is one pixel's channels.

    Then im2col is the identity on memory - row r = (n, i, j) of cols is
    x[n, i, j, :] - so cols is just a reshaped *view* of x, and col2im a
    reshape of dcols; no copy either way (MobileNetV2 has 35 such convolutions)::

        x (N, H, W, C)  --reshape-->  cols (N*H*W, C)
    """
    return kh == kw == 1 and stride_h == stride_w == 1 and pad_top == pad_left == 0


# ---------------------------------------------------------------- the three passes
def _unrolled_groups(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w,
                     budget: int | None = None):
    """Yield (images, cols) for each group of images of x, all unrolled into one buffer.

    Each group must be used before the next is asked for: it overwrites the last.
    """
    n_batch, _, _, in_c = x.shape
    width = kh * kw * in_c
    groups = _groups(n_batch, out_h * out_w * width * x.itemsize, budget)
    buffer = np.empty(((groups[0].stop - groups[0].start) * out_h * out_w, width), dtype=x.dtype)
    for images in groups:
        cols = buffer[:(images.stop - images.start) * out_h * out_w]
        im2col(x[images], cols, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
        yield images, cols


def conv2d_forward(x, kernel, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """y = x (*) kernel. x: (N, H, W, C), kernel: (KH, KW, C, O) -> y: (N, OH, OW, O)."""
    kh, kw, in_c, out_c = kernel.shape
    n_batch, pixels = x.shape[0], out_h * out_w
    weights = kernel.reshape(kh * kw * in_c, out_c)
    if _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left):
        return (np.ascontiguousarray(x).reshape(-1, in_c) @ weights).reshape(n_batch, out_h, out_w, out_c)
    # y viewed as (N*OH*OW, O): the rows of one group of images are one block of it
    y = np.empty((n_batch * pixels, out_c), dtype=np.result_type(x.dtype, kernel.dtype))
    for images, cols in _unrolled_groups(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
        np.matmul(cols, weights, out=y[images.start * pixels:images.stop * pixels])
    return y.reshape(n_batch, out_h, out_w, out_c)


def conv2d_backward_input(dy, kernel, in_h, in_w, stride_h, stride_w, pad_top, pad_left):
    """dL/dx from dL/dy. dy: (N, OH, OW, O), kernel: (KH, KW, C, O) -> dx: (N, H, W, C)."""
    n_batch, out_h, out_w, out_c = dy.shape
    kh, kw, in_c, _ = kernel.shape
    weights_t = kernel.reshape(kh * kw * in_c, out_c).T
    d_y = dy.reshape(-1, out_c)
    if _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left):
        return (d_y @ weights_t).reshape(n_batch, in_h, in_w, in_c)
    dtype = np.result_type(dy.dtype, kernel.dtype)
    dx = np.empty((n_batch, in_h, in_w, in_c), dtype=dtype)
    pixels = out_h * out_w
    groups = _groups(n_batch, pixels * kh * kw * in_c * dx.itemsize)
    buffer = np.empty(((groups[0].stop - groups[0].start) * pixels, kh * kw * in_c), dtype=dtype)
    for images in groups:
        block = d_y[images.start * pixels:images.stop * pixels]
        dcols = np.matmul(block, weights_t, out=buffer[:len(block)])
        col2im(dcols, dx[images], kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)
    return dx


def _per_image_products(cols, rows, n_images):
    """cols.T @ rows as a sum of one product per image, for cols with few columns.

    A network's first layer unrolls few values per window (3x3x3 = 27 for
    RGB, 2x2x1 = 4 for MNIST), so its kernel gradient is one product with a
    tiny result and a very long inner dimension, (27, 32768) @ (32768, 32)
    at batch 32, which BLAS runs far below its usual speed; cut into one
    product per image and summed, it runs faster. With wide cols it is the
    other way round, hence only here::

        cols (n*P, W) -> (n, P, W) -> transposed per image (n, W, P)
        rows (n*P, O) -> (n, P, O)
        (n, W, P) @ (n, P, O) = (n, W, O), summed over n -> (W, O)

    with P = OH*OW pixels per image and W = KH*KW*C.
    """
    pixels = rows.shape[0] // n_images
    per_image = cols.reshape(n_images, pixels, cols.shape[1]).transpose(0, 2, 1)
    return np.matmul(per_image, rows.reshape(n_images, pixels, rows.shape[1])).sum(axis=0)


def conv2d_backward_kernel(x, dy, kh, kw, stride_h, stride_w, pad_top, pad_left):
    """dL/dkernel. x: (N, H, W, C), dy: (N, OH, OW, O) -> dkernel: (KH, KW, C, O)."""
    _, out_h, out_w, out_c = dy.shape
    in_c = x.shape[3]
    d_y = dy.reshape(-1, out_c)
    if _pointwise(kh, kw, stride_h, stride_w, pad_top, pad_left):
        return (np.ascontiguousarray(x).reshape(-1, in_c).T @ d_y).reshape(kh, kw, in_c, out_c)
    pixels = out_h * out_w
    dkernel = None
    for images, cols in _unrolled_groups(x, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w,
                                         _KGRAD_BYTES):
        rows = d_y[images.start * pixels:images.stop * pixels]
        part = _kernel_product(cols, rows, images.stop - images.start)
        dkernel = part if dkernel is None else dkernel + part
    return np.ascontiguousarray(dkernel).reshape(kh, kw, in_c, out_c)


def _kernel_product(cols, rows, n_images):
    """cols.T @ rows: (KH*KW*C, rows) @ (rows, O), the kernel gradient of these rows."""
    if cols.shape[1] < rows.shape[1]:
        return _per_image_products(cols, rows, n_images)
    return cols.T @ rows
