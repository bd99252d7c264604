"""``Input``: declares the shape of one sample (batch axis excluded).

``Sequential([Input((28, 28, 1)), Conv2D(...), ...])`` builds every layer at
once, so ``summary()`` works before any data is seen. Equivalent to giving
the first layer ``input_shape=(28, 28, 1)``.
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Layer


class InputLayer(Layer):
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

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        return dy

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape)}


def Input(shape, name: str | None = None) -> InputLayer:  # noqa: N802 - Keras's spelling
    """Declare the per-sample input shape, e.g. ``Input((32, 32, 3))``."""
    return InputLayer(shape, name=name)
