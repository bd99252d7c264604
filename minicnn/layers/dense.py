"""``Dense``: every input feature connected to every unit.

Shapes::

    x       (N, D)
    kernel  (D, U)        U = units  (Keras layout: inputs first)
    bias    (U,)
    y       (N, U)

Forward::

    z = x @ kernel + bias
    y = activation(z)

Backward, from dy = dL/dy::

    dz      = activation.backward(dy)
    dkernel = x.T @ dz          (D, N) @ (N, U) -> (D, U): sums over the batch
    dbias   = dz.sum(axis=0)
    dx      = dz @ kernel.T     (N, U) @ (U, D) -> (N, D)

Parameter count: D*U + U.
"""

from __future__ import annotations

import numpy as np

from .. import activations, initializers, regularizers
from ..errors import ConfigError
from .base import Layer


class Dense(Layer):
    """Fully connected layer for 2-D input ``(batch, features)``."""

    input_ndim = 2

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ConfigError(f"Dense {self.name!r}: units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation, f"{type(self).__name__} {self.name!r}")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer, f"Dense {self.name!r}")
        self.bias_regularizer = regularizers.get(bias_regularizer, f"Dense {self.name!r}")

    def _rank_hint(self, ndim):
        return "; add a Flatten layer before it" if ndim > 2 else ""

    def _create_weights(self, input_shape, rng):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer, rng, regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer, rng,
                                    regularizer=self.bias_regularizer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def forward(self, x, training=False):
        self._x = x                              # dkernel needs it
        z = x @ self.kernel.value
        if self.bias is not None:
            z = z + self.bias.value
        self.preactivation = z
        return self.activation.forward(z)

    def backward(self, dy):
        return self.backward_preactivation(self.activation.backward(dy))

    def backward_preactivation(self, dz: np.ndarray) -> np.ndarray:
        """The backward pass from dz = dL/dz, the gradient before the activation
        (where a loss computed from the logits starts: see ``minicnn.losses``)."""
        if self.bias is not None:
            self.bias.grad = dz.sum(axis=0, dtype=np.float64).astype(dz.dtype)   # float64: no digit lost
        self.kernel.grad = self._x.T @ dz
        return dz @ self.kernel.value.T

    def get_config(self):
        return {"name": self.name, "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.name_of(self.kernel_initializer),
                "bias_initializer": initializers.name_of(self.bias_initializer),
                **{key: regularizers.serialize(r) for key, r in (("kernel_regularizer", self.kernel_regularizer),
                                                                 ("bias_regularizer", self.bias_regularizer))
                   if r is not None}}
