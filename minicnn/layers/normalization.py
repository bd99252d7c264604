"""``Normalization``: standardize features with statistics learned by ``adapt``.

``adapt(data)`` computes, per feature (per index of the last axis; all other
axes are pooled), the mean and the *biased* variance of the data - once,
before training, as Keras's preprocessing layer does. Then::

    y  = (x - mean) / max(sqrt(variance), eps)       eps = 1e-7 (Keras's epsilon)
    dx = dy / max(sqrt(variance), eps)

Weights (all non-trainable, Keras order): ``mean``, ``variance``, ``count``
(the number of samples seen by ``adapt``).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, NotBuiltError, ShapeError
from .base import Layer

_EPSILON = 1e-7


class Normalization(Layer):
    def __init__(self, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.adapted = False
        self._pending: tuple | None = None  # statistics from adapt() before build()

    def _create_weights(self, input_shape, rng):
        features = (input_shape[-1],)
        self.mean = self.add_weight("mean", features, "zeros", rng, trainable=False)
        self.variance = self.add_weight("variance", features, "ones", rng, trainable=False)
        self.count = self.add_weight("count", (), "zeros", rng, trainable=False)
        if self._pending is not None:
            self._store(*self._pending)

    def adapt(self, data: np.ndarray) -> None:
        """Learn per-feature mean and variance from ``data`` (batch first)."""
        data = np.asarray(data)
        if data.ndim < 2 or data.shape[0] == 0:
            raise ShapeError(f"{self._describe()}.adapt expects a non-empty batch of at least 2-D, "
                             f"got shape {data.shape}")
        if not np.issubdtype(data.dtype, np.number) or not np.isfinite(data).all():
            raise InputError(f"{self._describe()}.adapt expects finite numbers, got dtype {data.dtype}")
        if self.built and data.shape[1:] != self.input_shape:
            raise ShapeError(f"{self._describe()} was built for inputs {(None,) + self.input_shape}, "
                             f"adapt got {data.shape}")
        axes = tuple(range(data.ndim - 1))
        stats = (data.mean(axis=axes), data.var(axis=axes), data.shape[0])
        if self.built:
            self._store(*stats)
        else:
            self._pending = stats  # stored by build(), which knows the dtype
            if self.declared_input_shape is None:
                self.declared_input_shape = data.shape[1:]

    def _store(self, mean, var, count) -> None:
        self.mean.value[...] = mean
        self.variance.value[...] = var
        self.count.value[...] = count
        self.adapted = True
        self._pending = None

    def _scale(self) -> np.ndarray:
        return np.maximum(np.sqrt(self.variance.value), self.dtype.type(_EPSILON))

    def forward(self, x, training=False):
        return (x - self.mean.value) / self._scale()

    def backward(self, dy):
        return dy / self._scale()
