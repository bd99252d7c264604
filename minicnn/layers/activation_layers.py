"""Activation layers: ``ReLU``, ``LeakyReLU``, ``Softmax`` and ``Activation(name)``.

Each wraps one function of ``minicnn.activations`` (where the forward and
backward formulas are written out) so that it can stand as its own layer,
with its own name and its own entry in ``model.trace``. No weights.
"""

from __future__ import annotations

import numpy as np

from .. import activations
from ..errors import ConfigError
from .base import Layer


class _ActivationLayer(Layer):
    """A layer whose whole job is ``y = f(x)``."""

    fn: activations.ActivationFn

    def forward(self, x, training=False):
        self.preactivation = x
        return self.fn.forward(x)

    def backward(self, dy):
        return self.fn.backward(dy)

    def backward_preactivation(self, dz: np.ndarray) -> np.ndarray:
        """The gradient before the activation is already dL/dx."""
        return dz

    @property
    def activation(self) -> activations.ActivationFn:
        return self.fn


class Activation(_ActivationLayer):
    """``Activation("relu")``, ``Activation("softmax")``, ... by name."""

    def __init__(self, activation: str, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.fn = activations.get(activation, f"{type(self).__name__} {self.name!r}")

    def get_config(self):
        return {"name": self.name, "activation": self.fn.name}


class ReLU(_ActivationLayer):
    """max(x, 0), optionally capped: ``ReLU(max_value=6.0)`` is ReLU6."""

    def __init__(self, max_value: float | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if max_value is not None and max_value < 0:
            raise ConfigError(f"ReLU {self.name!r}: max_value must be >= 0, got {max_value}")
        self.fn = activations.ReLU(max_value)

    def get_config(self):
        return {"name": self.name, "max_value": self.fn.max_value}


class LeakyReLU(_ActivationLayer):
    """x for x > 0, ``negative_slope * x`` otherwise; Keras's default slope is 0.3."""

    def __init__(self, negative_slope: float = 0.3, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ConfigError(f"LeakyReLU {self.name!r}: negative_slope must be >= 0, got {negative_slope}")
        self.fn = activations.LeakyReLU(negative_slope)

    def get_config(self):
        return {"name": self.name, "negative_slope": self.fn.negative_slope}


class Softmax(_ActivationLayer):
    """Softmax along ``axis`` (default: the last)."""

    def __init__(self, axis: int = -1, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.fn = activations.Softmax(axis)

    def get_config(self):
        return {"name": self.name, "axis": self.fn.axis}
