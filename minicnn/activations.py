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

These are the plain NumPy forms, what ``compile(jit_compile=False)`` runs.
The fused training step (``minicnn.fast``) computes ReLU and LeakyReLU in one
pass with the bias before them and is tested to give the same numbers.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError


class ActivationFn:
    """Base class: ``forward(x) -> y`` then ``backward(dy) -> dx``.

    ``forward`` keeps what ``backward`` reads (the input x or the output y)
    on the object, which is why every layer owns its own instance.
    """

    name = "linear"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy

    def get_config(self) -> dict:
        return {"name": self.name}


class Linear(ActivationFn):
    name = "linear"


class ReLU(ActivationFn):
    """max(x, 0), optionally capped at ``max_value`` (ReLU6 is ``max_value=6``).

    backward: dx = dy where 0 < x (< max_value), else 0.
    """

    name = "relu"

    def __init__(self, max_value: float | None = None) -> None:
        self.max_value = max_value

    def forward(self, x):
        self._x = x
        y = np.maximum(x, x.dtype.type(0))
        if self.max_value is not None:
            y = np.minimum(y, x.dtype.type(self.max_value))
        return y

    def backward(self, dy):
        passes = self._x > 0
        if self.max_value is not None:
            passes &= self._x < self.max_value
        return np.where(passes, dy, dy.dtype.type(0))


class LeakyReLU(ActivationFn):
    """x for x > 0, ``negative_slope * x`` otherwise (Keras's layer default: 0.3).

    backward: dx = dy where x > 0, else negative_slope * dy.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.3) -> None:
        self.negative_slope = negative_slope

    def forward(self, x):
        self._x = x
        slope = x.dtype.type(self.negative_slope)
        return np.where(x > 0, x, slope * x)

    def backward(self, dy):
        slope = dy.dtype.type(self.negative_slope)
        return np.where(self._x > 0, dy, slope * dy)

    def get_config(self):
        return {"name": self.name, "negative_slope": self.negative_slope}


class Tanh(ActivationFn):
    name = "tanh"

    def forward(self, x):
        y = np.tanh(x)
        self._y = y        # for backward
        return y

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
        y = sigmoid(x)
        self._y = y        # for backward
        return y

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
        y = softmax(x, self.axis)
        self._y = y        # for backward
        return y

    def backward(self, dy):
        y = self._y
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))


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
