"""``Input``: declares the shape of one sample (batch axis excluded).

``Input((28, 28, 1))`` returns a *symbolic tensor* (see
``minicnn.layers.graph``) made by an ``InputLayer``, as ``keras.Input`` does.
It serves both model styles:

* ``Sequential([Input((28, 28, 1)), Conv2D(...), ...])`` builds every layer at
  once, so ``summary()`` works before any data is seen (the same as giving the
  first layer ``input_shape=(28, 28, 1)``);
* ``inputs = Input((28, 28, 1)); x = Conv2D(...)(inputs); ...;
  Model(inputs, x)`` is the functional API.
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Layer
from .graph import SymbolicTensor


class InputLayer(Layer):
    """The source of a model's data: its output is the batch itself."""

    def __init__(self, shape, name: str | None = None) -> None:
        super().__init__(name=name)
        try:
            shape = tuple(int(d) for d in shape)
        except TypeError:
            shape = (int(shape),)
        if not shape or min(shape) <= 0:
            raise ConfigError(f"Input {self.name!r}: shape must be positive sizes, got {shape!r}")
        self.shape = shape
        self.declared_input_shape = shape
        self.build(shape)
        self.inbound = []  # a source: called on nothing

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        return dy

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape)}


def Input(shape, name: str | None = None):  # noqa: N802 - Keras's spelling
    """Declare the per-sample input shape, e.g. ``Input((32, 32, 3))``.

    Returns the symbolic tensor of a new ``InputLayer`` (``.layer`` is the layer).
    """
    layer = InputLayer(shape, name=name)
    layer.output = SymbolicTensor(layer.shape, layer)
    return layer.output
