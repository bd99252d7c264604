"""Fused elementwise kernels: one pass over memory where NumPy takes several.

What they accelerate: the activations of ``minicnn/activations.py`` (ReLU and
LeakyReLU), the bias add before them in ``Conv2D``/``Dense``, and the bias
gradient after their backward. Over the flattened array, or over the (M, C)
rows of an NHWC array (one row per pixel, one column per channel)::

    relu_forward:            y[i]  = 0 if x[i] <= 0 else x[i]
    leaky_relu_forward:      y[i]  = x[i] if x[i] > 0 else slope * x[i]
    relu_backward:           dx[i] = dy[i] if y[i] > 0 else 0
    leaky_relu_backward:     dx[i] = dy[i] if y[i] > 0 else slope * dy[i]
    bias_*_forward:          z[i, c] = f(z[i, c] + bias[c])        written over z
    *_backward_bias_grad:    dz[i, c] = f'(dy[i, c]),  dbias[c] = sum_i dz[i, c]

The backward passes look at the *output* y: for any slope >= 0, y > 0
exactly where x > 0, so the fused step keeps y alone and can write y over
z. ReLU is written so that a NaN fails ``x <= 0`` and passes through, as it
does through ``np.maximum(x, 0)``. ``out=`` (where offered) writes the result
over the argument, in a kernel of its own: handed the same array as input and
output, one kernel would be correct but lose its vector loop, since the
compiler cannot prove the two do not overlap. ``*_reference`` are the same
formulas in plain NumPy, the activations' own; tests hold the kernels to
them. Measurements: ``docs/speed.md``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def leaky_relu_forward_reference(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_backward_reference(dy: np.ndarray, y: np.ndarray, slope: float) -> np.ndarray:
    return np.where(y > 0, dy, dy * dy.dtype.type(slope))


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _leaky_forward_flat(x, slope):
    y = np.empty_like(x)
    s = x.dtype.type(slope)
    for i in range(x.size):
        v = x[i]
        y[i] = v if v > 0 else s * v
    return y


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _leaky_forward_over(x, slope):
    s = x.dtype.type(slope)
    for i in range(x.size):
        v = x[i]
        x[i] = v if v > 0 else s * v


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _leaky_backward_flat(dy, y, slope):
    dx = np.empty_like(dy)
    s = dy.dtype.type(slope)
    for i in range(dy.size):
        dx[i] = dy[i] if y[i] > 0 else s * dy[i]
    return dx


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _leaky_backward_over(dy, y, slope):
    s = dy.dtype.type(slope)
    for i in range(dy.size):
        dy[i] = dy[i] if y[i] > 0 else s * dy[i]


def _over(a: np.ndarray, out: np.ndarray | None, dtype) -> bool:
    """Is the result to be written over ``a``? ``out`` may only be None or ``a`` itself."""
    if out is None:
        return False
    if out is not a or not a.flags.c_contiguous or not a.flags.writeable or a.dtype != dtype:
        raise ValueError("out must be None or the argument itself (contiguous, writeable, "
                         f"{np.dtype(dtype)}); got another array")
    return True


def leaky_relu_forward(x: np.ndarray, slope: float, out: np.ndarray | None = None) -> np.ndarray:
    """Any shape; jitted on the flattened array (one specialization per dtype). ``out=x``: y over x."""
    if _over(x, out, x.dtype):
        _leaky_forward_over(x.reshape(-1), float(slope))
        return x
    x = np.ascontiguousarray(x)
    return _leaky_forward_flat(x.reshape(-1), float(slope)).reshape(x.shape)


def leaky_relu_backward(dy: np.ndarray, y: np.ndarray, slope: float,
                        out: np.ndarray | None = None) -> np.ndarray:
    """``out=dy``: dx written over dy."""
    y_flat = np.ascontiguousarray(y).reshape(-1)
    if _over(dy, out, y.dtype):
        _leaky_backward_over(dy.reshape(-1), y_flat, float(slope))
        return dy
    dy = np.ascontiguousarray(dy, dtype=y.dtype)
    return _leaky_backward_flat(dy.reshape(-1), y_flat, float(slope)).reshape(dy.shape)


def relu_forward_reference(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, x.dtype.type(0))


def relu_backward_reference(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    return dy * (y > 0).astype(dy.dtype)


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _relu_forward_flat(x):
    y = np.empty_like(x)
    for i in range(x.size):
        v = x[i]
        y[i] = 0 if v <= 0 else v
    return y


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _relu_forward_over(x):
    for i in range(x.size):
        v = x[i]
        x[i] = 0 if v <= 0 else v


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _relu_backward_flat(dy, y):
    dx = np.empty_like(dy)
    for i in range(dy.size):
        dx[i] = dy[i] if y[i] > 0 else 0
    return dx


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _relu_backward_over(dy, y):
    for i in range(dy.size):
        dy[i] = dy[i] if y[i] > 0 else 0


def relu_forward(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``out=x``: y written over x."""
    if _over(x, out, x.dtype):
        _relu_forward_over(x.reshape(-1))
        return x
    x = np.ascontiguousarray(x)
    return _relu_forward_flat(x.reshape(-1)).reshape(x.shape)


def relu_backward(dy: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``out=dy``: dx written over dy."""
    y_flat = np.ascontiguousarray(y).reshape(-1)
    if _over(dy, out, y.dtype):
        _relu_backward_over(dy.reshape(-1), y_flat)
        return dy
    dy = np.ascontiguousarray(dy, dtype=y.dtype)
    return _relu_backward_flat(dy.reshape(-1), y_flat).reshape(dy.shape)


# ---------------------------------------------------------------- with the bias
# A convolution's output z gets its bias and then its activation: two passes
# over the largest arrays of the network become one, written over z (the
# backward of ReLU and LeakyReLU reads y, so z is not needed afterwards).


def add_bias_reference(z: np.ndarray, bias: np.ndarray) -> None:
    z += bias


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _add_bias_rows(z, bias):
    m, c = z.shape
    for i in range(m):
        for j in range(c):
            z[i, j] += bias[j]


def add_bias(z: np.ndarray, bias: np.ndarray) -> None:
    """z += bias, in place, for activations with no fused kernel of their own.

    NumPy's broadcast ``z += bias`` over a (M, C) array with few channels runs an
    inner loop of only C values per row; this loop runs over whole rows.
    """
    if not z.flags.c_contiguous:
        z += bias
        return
    _add_bias_rows(z.reshape(-1, z.shape[-1]), bias.astype(z.dtype, copy=False))


def bias_relu_forward_reference(z: np.ndarray, bias: np.ndarray) -> np.ndarray:
    z += bias
    z[...] = relu_forward_reference(z)
    return z


def bias_leaky_relu_forward_reference(z: np.ndarray, bias: np.ndarray, slope: float) -> np.ndarray:
    z += bias
    z[...] = leaky_relu_forward_reference(z, slope)
    return z


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _bias_leaky_rows(z, bias, slope, leaky):
    """One kernel for both: ``leaky`` False is ReLU (slope unused; NaN passes through)."""
    m, c = z.shape
    s = z.dtype.type(slope)
    for i in range(m):
        for j in range(c):
            v = z[i, j] + bias[j]
            if leaky:
                z[i, j] = v if v > 0 else s * v
            else:
                z[i, j] = 0 if v <= 0 else v


def _bias_rows(z: np.ndarray, bias: np.ndarray, slope: float, leaky: bool) -> np.ndarray:
    if not z.flags.c_contiguous:
        # reshape would copy and the in-place add would land in the copy: the
        # reference formulas update any view
        return bias_leaky_relu_forward_reference(z, bias, slope) if leaky else \
            bias_relu_forward_reference(z, bias)
    rows = z.reshape(-1, z.shape[-1])  # a view: the kernel's writes land in z
    _bias_leaky_rows(rows, bias.astype(z.dtype, copy=False), float(slope), leaky)
    return z


def bias_relu_forward(z: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """y = max(z + bias, 0), written over z, which is returned: the reference's results, one pass."""
    return _bias_rows(z, bias, 0.0, False)


def bias_leaky_relu_forward(z: np.ndarray, bias: np.ndarray, slope: float) -> np.ndarray:
    """y = LeakyReLU(z + bias), written over z, which is returned: the reference's results, one pass."""
    return _bias_rows(z, bias, slope, True)


# ---------------------------------------------------------------- the bias gradient
# The mirror image of the section above: dz = dy * f'(z) and the bias
# gradient, the sum of dz over every axis but the channels, from one pass
# over the (M, C) rows of dy, summing each channel in float64 as dz is written::
#
#     dz[i, c] = f'(dy[i, c])        and        dbias[c] += dz[i, c]


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _column_sums(rows):
    m, c = rows.shape
    sums = np.zeros(c, dtype=np.float64)
    for i in range(m):
        for j in range(c):
            sums[j] += rows[i, j]
    return sums


def channel_sums(a: np.ndarray) -> np.ndarray:
    """Sum of a (..., F) over every axis but the last -> (F,): the bias gradient.

    One pass over the (M, F) rows into float64 running sums, as the layers'
    ``a.sum(axis=..., dtype=np.float64)`` but without NumPy's strided walk.
    """
    rows = np.ascontiguousarray(a).reshape(-1, a.shape[-1])
    return _column_sums(rows).astype(a.dtype)


def relu_backward_bias_grad_reference(dy: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dz = relu_backward_reference(dy, y)
    return dz, dz.reshape(-1, dz.shape[-1]).sum(axis=0, dtype=np.float64).astype(dz.dtype)


def leaky_relu_backward_bias_grad_reference(dy: np.ndarray, y: np.ndarray,
                                            slope: float) -> tuple[np.ndarray, np.ndarray]:
    dz = leaky_relu_backward_reference(dy, y, slope)
    return dz, dz.reshape(-1, dz.shape[-1]).sum(axis=0, dtype=np.float64).astype(dz.dtype)


@njit(inline="always")
def _gradient_through_relu_family(d, y_value, slope, zero, leaky):
    """One value of dz = dy * f'(x), read off y: LeakyReLU if ``leaky``, else ReLU."""
    if leaky:
        return d if y_value > 0 else slope * d
    return d if y_value > 0 else zero


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _backward_sums_rows(dy, y, slope, leaky):
    """dz (M, C) and its column sums; ``leaky`` False is ReLU (slope unused)."""
    m, c = dy.shape
    dz = np.empty_like(dy)
    sums = np.zeros(c, dtype=np.float64)  # float64: M is 25088 on the MNIST CNN's first layer
    s, zero = dy.dtype.type(slope), dy.dtype.type(0)
    for i in range(m):
        for j in range(c):
            dz[i, j] = _gradient_through_relu_family(dy[i, j], y[i, j], s, zero, leaky)
            sums[j] += dz[i, j]
    return dz, sums.astype(dy.dtype)


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _backward_sums_rows_over(dy, y, slope, leaky):
    """The same with dz written over dy (a kernel of its own: see ``out=`` above); -> the sums."""
    m, c = dy.shape
    sums = np.zeros(c, dtype=np.float64)
    s, zero = dy.dtype.type(slope), dy.dtype.type(0)
    for i in range(m):
        for j in range(c):
            dy[i, j] = _gradient_through_relu_family(dy[i, j], y[i, j], s, zero, leaky)
            sums[j] += dy[i, j]
    return sums.astype(dy.dtype)


def _backward_sums(dy: np.ndarray, y: np.ndarray, slope: float, leaky: bool,
                   out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    channels = dy.shape[-1]
    if y.flags.c_contiguous and _over(dy, out, y.dtype):
        sums = _backward_sums_rows_over(dy.reshape(-1, channels), y.reshape(-1, channels), float(slope), leaky)
        return dy, sums
    dy = np.asarray(dy, dtype=y.dtype)
    if not (dy.flags.c_contiguous and y.flags.c_contiguous):
        return leaky_relu_backward_bias_grad_reference(dy, y, slope) if leaky else \
            relu_backward_bias_grad_reference(dy, y)
    dz, sums = _backward_sums_rows(dy.reshape(-1, channels), y.reshape(-1, channels), float(slope), leaky)
    return dz.reshape(dy.shape), sums


def relu_backward_bias_grad(dy: np.ndarray, y: np.ndarray,
                            out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dz, dbias): ReLU's backward and the sum of dz over all axes but the last, one pass.

    ``out=dy`` writes dz over dy.
    """
    return _backward_sums(dy, y, 0.0, False, out)


def leaky_relu_backward_bias_grad(dy: np.ndarray, y: np.ndarray, slope: float,
                                  out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dz, dbias): LeakyReLU's backward and the sum of dz over all axes but the last, one pass.

    ``out=dy`` writes dz over dy.
    """
    return _backward_sums(dy, y, slope, True, out)


# ---------------------------------------------------------------- ReLU capped at max_value (ReLU6)
# y = min(max(x, 0), cap); the gradient passes where 0 < x < cap, which is
# where 0 < y < cap: the backward reads y, as ReLU's does.
def capped_relu_forward_reference(x: np.ndarray, cap: float) -> np.ndarray:
    return np.minimum(np.maximum(x, x.dtype.type(0)), x.dtype.type(cap))


def capped_relu_backward_reference(dy: np.ndarray, y: np.ndarray, cap: float) -> np.ndarray:
    return np.where((y > 0) & (y < cap), dy, dy.dtype.type(0))


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _capped_forward_flat(x, cap):
    y = np.empty_like(x)
    c = x.dtype.type(cap)
    for i in range(x.size):
        v = x[i]
        y[i] = 0 if v <= 0 else (c if v >= c else v)
    return y


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _capped_forward_over(x, cap):
    c = x.dtype.type(cap)
    for i in range(x.size):
        v = x[i]
        x[i] = 0 if v <= 0 else (c if v >= c else v)


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _capped_backward_flat(dy, y, cap):
    dx = np.empty_like(dy)
    c = y.dtype.type(cap)
    for i in range(dy.size):
        dx[i] = dy[i] if 0 < y[i] < c else 0
    return dx


@njit(cache=True, nogil=True)  # serial on purpose: see docs/speed.md
def _capped_backward_over(dy, y, cap):
    c = y.dtype.type(cap)
    for i in range(dy.size):
        dy[i] = dy[i] if 0 < y[i] < c else 0


def capped_relu_forward(x: np.ndarray, cap: float, out: np.ndarray | None = None) -> np.ndarray:
    """``out=x``: y written over x."""
    if _over(x, out, x.dtype):
        _capped_forward_over(x.reshape(-1), float(cap))
        return x
    x = np.ascontiguousarray(x)
    return _capped_forward_flat(x.reshape(-1), float(cap)).reshape(x.shape)


def capped_relu_backward(dy: np.ndarray, y: np.ndarray, cap: float, out: np.ndarray | None = None) -> np.ndarray:
    """``out=dy``: dx written over dy."""
    y_flat = np.ascontiguousarray(y).reshape(-1)
    if _over(dy, out, y.dtype):
        _capped_backward_over(dy.reshape(-1), y_flat, float(cap))
        return dy
    dy = np.ascontiguousarray(dy, dtype=y.dtype)
    return _capped_backward_flat(dy.reshape(-1), y_flat, float(cap)).reshape(dy.shape)
