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
model's generator (``Sequential(seed=...)``) or from ``minicnn.set_seed``
(``random_layer.py``).
"""

from __future__ import annotations

from ..errors import ConfigError
from .random_layer import RandomLayer


class Dropout(RandomLayer):
    def __init__(self, rate: float, seed: int | None = None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(seed, name, **kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ConfigError(f"Dropout {self.name!r}: rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)

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
