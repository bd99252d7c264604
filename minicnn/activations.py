"""Element-wise activation functions, each with its forward and its backward.

An activation object remembers what its backward needs from the last
forward (the input or the output), so every layer owns its own instance.

==============  ==========================  =====================================
name            forward  y = f(x)           backward  dx = dy * f'(x)
==============  ==========================  =====================================
``linear``      x                           dy
``relu``        max(x, 0), capped at        dy where 0 < x (< max_value), else 0
                ``max_value`` if given
``leaky_relu``  x if x > 0 else a*x         dy if x > 0 else a*dy
``tanh``        tanh(x)                     dy * (1 - y^2)
``sigmoid``     1 / (1 + e^-x)              dy * y * (1 - y)
``softmax``     e^x_i / sum_j e^x_j         y * (dy - sum_j dy_j y_j)   (exact
                (along the last axis)       Jacobian-vector product, not diagonal)
==============  ==========================  =====================================

At the kinks TensorFlow's choice is kept: ReLU's derivative at exactly 0 is
0, LeakyReLU's is the slope ``a``.

Keras has two defaults for the leaky slope, and minicnn keeps both: the
*layer* ``LeakyReLU()`` uses a = 0.3, the *activation name*
``activation="leaky_relu"`` uses a = 0.2 (``keras.activations.leaky_relu``).
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError
from .kernels import elementwise


def _writable(a: np.ndarray, dtype) -> bool:
    """Can a flat kernel write its result over ``a``: contiguous, writeable, of the result's dtype."""
    return a.flags.c_contiguous and a.flags.writeable and a.dtype == dtype


class ActivationFn:
    """Base class: ``forward(x) -> y`` then ``backward(dy) -> dx``."""

    name = "linear"
    #: Can y be written over the input? ReLU and LeakyReLU: ``forward_with_bias``
    #: always writes y over z, and ``forward_over`` / ``backward_over`` write
    #: over their argument (their backward reads y, never x).
    in_place = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy

    def forward_over(self, x: np.ndarray) -> np.ndarray:
        """``forward(x)``, writing y over x when ``in_place`` (x must be contiguous)."""
        return self.forward(x)

    def backward_over(self, dy: np.ndarray) -> np.ndarray:
        """``backward(dy)``, writing dx over dy when ``in_place`` (dy must be contiguous)."""
        return self.backward(dy)

    def backward_with_bias_grad_over(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``backward_with_bias_grad(dy)``, writing dx over dy when ``in_place``."""
        return self.backward_with_bias_grad(dy)

    def forward_with_bias(self, z: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """``z += bias`` in place, then ``forward(z)``. ReLU and LeakyReLU do both
        in one pass and write y over z (their backward reads y, so z is not
        needed): the returned array *is* z then."""
        elementwise.add_bias(z, bias)
        return self.forward(z)

    def backward_with_bias_grad(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(dx, dbias)``: ``backward(dy)`` and its sum over every axis but the
        last (the bias gradient of the layer this activation belongs to); ReLU
        and LeakyReLU compute both in one pass over dy."""
        dx = self.backward(dy)
        return dx, elementwise.channel_sums(dx)

    def get_config(self) -> dict:
        return {"name": self.name}


class Linear(ActivationFn):
    name = "linear"


class ReLU(ActivationFn):
    """max(x, 0), optionally capped at ``max_value`` (ReLU6 is ``max_value=6``)."""

    name = "relu"

    def __init__(self, max_value: float | None = None) -> None:
        self.max_value = max_value

    @property
    def in_place(self) -> bool:  # the fused kernels cover plain ReLU, not ReLU6
        return self.max_value is None

    def forward(self, x):
        if self.max_value is None:
            # max(x, 0) in one fused pass (kernels/elementwise.py); backward reads y.
            self._x, self._y = None, elementwise.relu_forward(x)
            return self._y
        self._x = x
        y = np.maximum(x, 0)
        np.minimum(y, self.max_value, out=y)  # in place: y is already a new array
        return y.astype(x.dtype, copy=False)

    def forward_with_bias(self, z, bias):
        if self.max_value is None:
            self._x, self._y = None, elementwise.bias_relu_forward(z, bias)
            return self._y
        return super().forward_with_bias(z, bias)

    def forward_over(self, x):
        if self.max_value is None and _writable(x, x.dtype):
            self._x, self._y = None, elementwise.relu_forward(x, out=x)
            return self._y
        return self.forward(x)

    def backward(self, dy):
        if self.max_value is None:
            return elementwise.relu_backward(dy, self._y)  # dy where y > 0 (that is, x > 0)
        passes = (self._x > 0) & (self._x < self.max_value)
        return dy * passes

    def backward_with_bias_grad(self, dy):
        if self.max_value is None:
            return elementwise.relu_backward_bias_grad(dy, self._y)
        return super().backward_with_bias_grad(dy)

    def backward_over(self, dy):
        if self.max_value is None and _writable(dy, self._y.dtype):
            return elementwise.relu_backward(dy, self._y, out=dy)
        return self.backward(dy)

    def backward_with_bias_grad_over(self, dy):
        if self.max_value is None and _writable(dy, self._y.dtype):
            return elementwise.relu_backward_bias_grad(dy, self._y, out=dy)
        return self.backward_with_bias_grad(dy)


class LeakyReLU(ActivationFn):
    """x for x > 0, ``negative_slope * x`` otherwise (Keras default slope: 0.3)."""

    name = "leaky_relu"
    in_place = True

    def __init__(self, negative_slope: float = 0.3) -> None:
        self.negative_slope = negative_slope

    def forward(self, x):
        # y = x where x > 0, else slope * x; one fused pass (kernels/elementwise.py).
        self._y = elementwise.leaky_relu_forward(x, self.negative_slope)
        return self._y

    def forward_with_bias(self, z, bias):
        self._y = elementwise.bias_leaky_relu_forward(z, bias, self.negative_slope)
        return self._y

    def forward_over(self, x):
        if not _writable(x, x.dtype):
            return self.forward(x)
        self._y = elementwise.leaky_relu_forward(x, self.negative_slope, out=x)
        return self._y

    def backward(self, dy):
        # dx = dy where x > 0 (equivalently y > 0), else slope * dy.
        return elementwise.leaky_relu_backward(dy, self._y, self.negative_slope)

    def backward_with_bias_grad(self, dy):
        return elementwise.leaky_relu_backward_bias_grad(dy, self._y, self.negative_slope)

    def backward_over(self, dy):
        if not _writable(dy, self._y.dtype):
            return self.backward(dy)
        return elementwise.leaky_relu_backward(dy, self._y, self.negative_slope, out=dy)

    def backward_with_bias_grad_over(self, dy):
        if not _writable(dy, self._y.dtype):
            return self.backward_with_bias_grad(dy)
        return elementwise.leaky_relu_backward_bias_grad(dy, self._y, self.negative_slope, out=dy)

    def get_config(self):
        return {"name": self.name, "negative_slope": self.negative_slope}


class Tanh(ActivationFn):
    name = "tanh"

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy):
        return dy * (1 - self._y * self._y)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow: e^-x is only evaluated where x >= 0."""
    # For x < 0 use the equal form e^x / (1 + e^x), whose exp cannot overflow.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(ActivationFn):
    name = "sigmoid"

    def forward(self, x):
        self._y = sigmoid(x)
        return self._y

    def backward(self, dy):
        return dy * self._y * (1 - self._y)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^x / sum e^x, computed as e^(x - max) so that no exponent overflows."""
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


class Softmax(ActivationFn):
    """Softmax along ``axis``; backward is the exact Jacobian-vector product.

    With y = softmax(x), dy_i/dx_k = y_i (delta_ik - y_k), so
    dx_k = sum_i dy_i y_i (delta_ik - y_k) = y_k (dy_k - sum_i dy_i y_i).
    """

    name = "softmax"

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        self._y = softmax(x, self.axis)
        return self._y

    def backward(self, dy):
        y = self._y
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))


def gradient_before(fn: ActivationFn, dy: np.ndarray, with_bias: bool,
                    over: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``(dz, dbias)`` for a layer that ends in ``fn``: dz = dL/d(pre-activation), and
    dbias = dz summed over every axis but the last (None without a bias).

    ``over``: dz may be written over dy (see ``Layer.backward_over``).
    """
    if not with_bias:
        return (fn.backward_over(dy) if over else fn.backward(dy)), None
    return fn.backward_with_bias_grad_over(dy) if over else fn.backward_with_bias_grad(dy)


_REGISTRY = {
    "linear": Linear,
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.2),  # keras.activations.leaky_relu's default
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "softmax": Softmax,
}


def get(identifier: str | None | ActivationFn, where: str = "") -> ActivationFn:
    """A fresh activation object for a name (``None`` means ``linear``);
    ``where`` (for example ``"Dense 'dense'"``) prefixes the error message."""
    if identifier is None:
        return Linear()
    if isinstance(identifier, ActivationFn):
        return identifier
    try:
        return _REGISTRY[identifier]()
    except (KeyError, TypeError):
        raise ConfigError(
            f"{where + ': ' if where else ''}unknown activation {identifier!r}; "
            f"expected one of {sorted(_REGISTRY)}"
        ) from None
