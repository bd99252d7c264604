"""``Flatten`` and ``Reshape``: change the shape, keep every value.

Both only reinterpret the same numbers in a new shape (C order, i.e. the
last axis changes fastest), so backward is the reverse reshape::

    Flatten:  x (N, H, W, C) -> y (N, H*W*C)        dx = dy.reshape(N, H, W, C)
    Reshape:  x (N, *in)     -> y (N, *target)       dx = dy.reshape(N, *in)

A Flatten after an NHWC feature map orders features as
(h, w, c) -> h*W*C + w*C + c, the same as Keras, so Dense weights copied
from Keras line up.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ShapeError
from .base import Layer


class Flatten(Layer):
    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.input_shape)


class Reshape(Layer):
    """Reshape to ``target_shape`` (batch excluded); one entry may be -1."""

    def __init__(self, target_shape, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        target = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ConfigError(f"Reshape {self.name!r}: invalid target_shape {target_shape!r}")
        self.target_shape = target

    def compute_output_shape(self, input_shape):
        total = int(np.prod(input_shape))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        shape = tuple(total // known if d == -1 else d for d in self.target_shape)
        if int(np.prod(shape)) != total:
            raise ShapeError(
                f"{self._describe()}: cannot reshape input of shape {(None,) + tuple(input_shape)} "
                f"({total} values per sample) to {(None,) + self.target_shape}"
            )
        return shape

    def forward(self, x, training=False):
        return x.reshape((x.shape[0],) + self.output_shape)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.input_shape)

    def get_config(self):
        return {"name": self.name, "target_shape": list(self.target_shape)}
