"""Moving pixels: the sampling behind translation, rotation, zoom and resizing.

**Affine sampling.** Each output pixel (row i, column j) of an image reads
the input at a point given by a 2x3 transform ``[a0, a1, a2, b0, b1, b2]``::

    x_in = a0 * j + a1 * i + a2          (column)
    y_in = b0 * j + b1 * i + b2          (row)

(the convention of TensorFlow's ``ImageProjectiveTransformV3``, which Keras's
augmentation layers use: a transform maps *output* coordinates to *input*
coordinates, so every output pixel gets exactly one value and no holes
appear). A point outside the image is first brought back inside by
``fill_mode``, per axis of length L:

* ``"reflect"``: mirror at the edge, the edge pixel repeated: ``d c b a | a b c d | d c b a``
* ``"wrap"``: ``a b c d | a b c d | a b c d``
* ``"nearest"``: the edge pixel: ``a a a a | a b c d | d d d d``
* ``"constant"``: not moved; what lies outside reads ``fill_value``.

Then ``"bilinear"`` interpolation mixes the four pixels around the point,
each weighted by its closeness (weights sum to 1); ``"nearest"`` takes the
closest one. Either way every output value is a weighted sum of input
values (plus ``fill_value`` times the weight that fell outside), so the
whole operation is linear in the image, and its backward pass is the
transpose: each output gradient flows back to the pixels it read, with the
same weights (``sample_backward``).

**Resizing** (``resize_matrix``): the same idea along one axis, with
TensorFlow's "half-pixel centres" (output pixel k covers the input from
``k * scale`` to ``(k + 1) * scale``, its centre at ``(k + 0.5) * scale -
0.5``), written as a matrix so that ``resized = R_rows @ image @ R_cols.T``.
"""

from __future__ import annotations

import numpy as np

FILL_MODES = ("reflect", "wrap", "nearest", "constant")
INTERPOLATIONS = ("bilinear", "nearest")


def _fold(coord: np.ndarray, length: int, fill_mode: str) -> np.ndarray:
    """Bring coordinates back into [0, length - 1] as ``fill_mode`` says (see the module docstring)."""
    if fill_mode == "constant":
        return coord
    if length <= 1:
        return np.zeros_like(coord)
    if fill_mode == "nearest":
        return np.clip(coord, 0, length - 1)
    if fill_mode == "wrap":
        # shift by whole periods of L (TensorFlow's arithmetic, which divides by L - 1 to count them)
        span = length - 1
        below = coord + length * (np.trunc(-coord / span) + 1)
        above = coord - length * np.trunc(coord / span)
        return np.clip(np.where(coord < 0, below, np.where(coord > length - 1, above, coord)), 0, length - 1)
    # reflect, period 2L: pixel -1 reads 0, -2 reads 1, L reads L-1 (edges repeated)
    period = 2 * length
    folded = np.mod(coord, period)
    folded = np.where(folded >= length, period - folded - 1, folded)
    return np.clip(folded, 0, length - 1)


def sampling_weights(transforms: np.ndarray, height: int, width: int, fill_mode: str,
                     interpolation: str) -> tuple[np.ndarray, np.ndarray]:
    """For N transforms (N, 6) over an image of (height, width): which input pixels each
    output pixel reads and with what weight.

    Returns ``(index, weight)``, both (N, K, height * width) with K = 4 (bilinear) or 1
    (nearest): ``index`` the flat input pixel (row * width + column), -1 where the
    point lies outside the image (it reads ``fill_value``).
    """
    rows, cols = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64),
                             indexing="ij")
    rows, cols = rows.reshape(1, -1), cols.reshape(1, -1)
    t = transforms.astype(np.float64)
    x = _fold(t[:, 0:1] * cols + t[:, 1:2] * rows + t[:, 2:3], width, fill_mode)
    y = _fold(t[:, 3:4] * cols + t[:, 4:5] * rows + t[:, 5:6], height, fill_mode)
    if interpolation == "nearest":
        # round half away from zero (as C's round, which TensorFlow uses)
        corners = [(np.sign(y) * np.floor(np.abs(y) + 0.5), np.sign(x) * np.floor(np.abs(x) + 0.5),
                    np.ones_like(x))]
    else:
        y0, x0 = np.floor(y), np.floor(x)
        corners = [(y0, x0, (y0 + 1 - y) * (x0 + 1 - x)), (y0, x0 + 1, (y0 + 1 - y) * (x - x0)),
                   (y0 + 1, x0, (y - y0) * (x0 + 1 - x)), (y0 + 1, x0 + 1, (y - y0) * (x - x0))]
    index = np.empty((len(t), len(corners), height * width), dtype=np.int64)
    weight = np.empty(index.shape, dtype=np.float64)
    for k, (r, c, w) in enumerate(corners):
        inside = (r >= 0) & (r <= height - 1) & (c >= 0) & (c <= width - 1)
        index[:, k] = np.where(inside, r * width + c, -1).astype(np.int64)
        weight[:, k] = w
    return index, weight


def sample(x: np.ndarray, index: np.ndarray, weight: np.ndarray, fill_value: float) -> np.ndarray:
    """y[n, p, c] = sum_k weight[n, k, p] * (x[n, index[n, k, p], c], or fill_value outside).

    x: (N, H, W, C); index, weight from :func:`sampling_weights`; returns (N, H, W, C).
    """
    n, h, w, c = x.shape
    flat = x.reshape(n, h * w, c)
    inside = index >= 0
    picked = np.take_along_axis(flat[:, None], np.where(inside, index, 0)[..., None], axis=2)  # (N, K, P, C)
    values = np.where(inside[..., None], picked, x.dtype.type(fill_value))
    y = (values * weight[..., None].astype(x.dtype)).sum(axis=1)
    return y.reshape(n, h, w, c)


def affine_sample(x: np.ndarray, transforms: np.ndarray, fill_mode: str, interpolation: str,
                  fill_value: float) -> np.ndarray:
    """Each image of x (N, H, W, C) read through its transform (N, 6): the two steps above."""
    n, h, w, _ = x.shape
    index, weight = sampling_weights(transforms, h, w, fill_mode, interpolation)
    return sample(x, index, weight, fill_value)


def sample_backward(dy: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """dL/dx of :func:`sample`: each output gradient added back to the pixels it read,
    times the weight it read them with (the fill value has no gradient)."""
    n, h, w, c = dy.shape
    g = dy.reshape(n, 1, h * w, c) * weight[..., None].astype(dy.dtype)    # (N, K, P, C)
    inside = index >= 0
    images = np.broadcast_to(np.arange(n)[:, None, None], index.shape)
    target = (images * (h * w) + index)[inside]                               # flat (image, pixel)
    dx = np.empty((n * h * w, c), dtype=dy.dtype)
    for channel in range(c):
        dx[:, channel] = np.bincount(target, weights=g[..., channel][inside], minlength=n * h * w)
    return dx.reshape(n, h, w, c)


def resize_matrix(size_in: int, size_out: int, interpolation: str = "bilinear") -> np.ndarray:
    """R (size_out, size_in): resizing one axis is ``R @ values`` (half-pixel centres)."""
    scale = size_in / size_out
    centre = (np.arange(size_out) + 0.5) * scale - 0.5
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    if interpolation == "nearest":
        # TensorFlow's half-pixel nearest: floor of the centre + 0.5, clamped
        matrix[rows, np.clip(np.floor(centre + 0.5), 0, size_in - 1).astype(np.int64)] = 1.0
        return matrix
    low = np.floor(centre)
    lerp = centre - low
    below = np.clip(low, 0, size_in - 1).astype(np.int64)
    above = np.clip(low + 1, 0, size_in - 1).astype(np.int64)
    np.add.at(matrix, (rows, below), 1.0 - lerp)
    np.add.at(matrix, (rows, above), lerp)
    return matrix
