"""``Dropout``: randomly silence units while training (inverted dropout).

Training forward, with a fresh random mask each call::

    keep[n, ...] ~ Bernoulli(1 - rate)
    y = x * keep / (1 - rate)

Dividing by (1 - rate) keeps the expected value of every unit unchanged, so
at inference the layer is simply the identity (``y = x``) and needs no
rescaling.

Backward: the same mask, the same scale: ``dx = dy * keep / (1 - rate)``
(identity in inference).

``seed=`` makes the masks reproducible; without it they come from the
model's generator (``Sequential(seed=...)``) or from ``minicnn.set_seed``.
"""

from __future__ import annotations

import numpy as np

from .. import seeding
from ..errors import ConfigError
from .base import Layer


class Dropout(Layer):
    def __init__(self, rate: float, seed: int | None = None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ConfigError(f"Dropout {self.name!r}: rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _create_weights(self, input_shape, rng):
        if self._rng is None:
            # No seed of its own: draw one from the model's (or the global) generator,
            # so that a seeded model gives the same masks on every run.
            self._rng = np.random.default_rng(seeding.child_seed(rng))

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = self._rng.random(x.shape) >= self.rate
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return x * self._mask

    def backward(self, dy):
        return dy if self._mask is None else dy * self._mask

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}
