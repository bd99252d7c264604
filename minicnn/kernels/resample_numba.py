"""Affine sampling, jitted: ``resample.sampling_weights`` + ``resample.sample`` in one pass.

The NumPy version builds, for a batch of N images of P pixels, index and
weight arrays of N x 4 x P entries and gathers N x 4 x P x C values before
summing them - several full passes over memory for every training batch.
This one walks the output pixels once: for each, it computes the input
point, folds it (``fill_mode``), and adds up the (up to) four neighbours'
values, channel by channel. Same formulas, same float64 coordinates, same
order of the sums, so the same numbers (a test compares them).

``fill_mode`` and ``interpolation`` arrive as small ints (``FILL_CODES``,
``INTERPOLATION_CODES``) so that one compiled function serves every layer.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

FILL_CODES = {"reflect": 0, "wrap": 1, "nearest": 2, "constant": 3}
INTERPOLATION_CODES = {"bilinear": 0, "nearest": 1}


@njit(cache=True)
def _fold(coord, length, fill):
    """``resample._fold`` for one coordinate."""
    if fill == 3:
        return coord
    if length <= 1:
        return 0.0
    if fill == 2:
        return min(max(coord, 0.0), length - 1.0)
    if fill == 1:
        span = length - 1.0
        if coord < 0:
            coord = coord + length * (math.trunc(-coord / span) + 1)
        elif coord > length - 1:
            coord = coord - length * math.trunc(coord / span)
        return min(max(coord, 0.0), length - 1.0)
    period = 2.0 * length
    folded = coord - period * math.floor(coord / period)   # np.mod for a positive period
    if folded >= length:
        folded = period - folded - 1.0
    return min(max(folded, 0.0), length - 1.0)


def affine_sample(x: np.ndarray, transforms: np.ndarray, fill_mode: str, interpolation: str,
                  fill_value: float) -> np.ndarray:
    """Same as ``resample.affine_sample``, jitted."""
    return _affine_sample(np.ascontiguousarray(x), np.ascontiguousarray(transforms, dtype=np.float64),
                          FILL_CODES[fill_mode], INTERPOLATION_CODES[interpolation], float(fill_value))


@njit(cache=True, parallel=True)
def _affine_sample(x, transforms, fill, interpolation, fill_value):
    """x: (N, H, W, C); transforms: (N, 6) float64 -> (N, H, W, C) (see ``resample``)."""
    n_images, height, width, channels = x.shape
    y = np.empty_like(x)
    fill_as_x = x.dtype.type(fill_value)
    for ni in prange(n_images * height):
        n = ni // height
        i = ni % height
        a0, a1, a2, b0, b1, b2 = transforms[n, 0], transforms[n, 1], transforms[n, 2], \
            transforms[n, 3], transforms[n, 4], transforms[n, 5]
        for j in range(width):
            xc = _fold(a0 * j + a1 * i + a2, width, fill)
            yc = _fold(b0 * j + b1 * i + b2, height, fill)
            if interpolation == 1:
                r = math.floor(abs(yc) + 0.5) * (1.0 if yc >= 0 else -1.0)
                c = math.floor(abs(xc) + 0.5) * (1.0 if xc >= 0 else -1.0)
                inside = r >= 0 and r <= height - 1 and c >= 0 and c <= width - 1
                for ch in range(channels):
                    y[n, i, j, ch] = x[n, int(r), int(c), ch] if inside else fill_as_x
                continue
            y0 = math.floor(yc)
            x0 = math.floor(xc)
            for ch in range(channels):
                acc = x.dtype.type(0)
                for k in range(4):
                    r = y0 + (k // 2)
                    c = x0 + (k % 2)
                    wy = (y0 + 1 - yc) if k // 2 == 0 else (yc - y0)
                    wx = (x0 + 1 - xc) if k % 2 == 0 else (xc - x0)
                    weight = x.dtype.type(wy * wx)
                    if r >= 0 and r <= height - 1 and c >= 0 and c <= width - 1:
                        acc += x[n, int(r), int(c), ch] * weight
                    else:
                        acc += fill_as_x * weight
                y[n, i, j, ch] = acc
    return y
