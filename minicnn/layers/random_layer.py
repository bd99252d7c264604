"""``RandomLayer``: a layer that draws random numbers (dropout masks, augmentation), from a
generator of its own.

``seed=`` makes the draws reproducible; without it, the layer's generator is
seeded from the model's generator (``Sequential(seed=...)``) or the global one
(``minicnn.set_seed``) when the layer is built, so that a seeded model draws
the same numbers on every run. The generator is ``self._rng``; model files
save its state, so a resumed run draws what the uninterrupted one would have.
"""

from __future__ import annotations

import numpy as np

from .. import seeding
from ..errors import ConfigError
from .base import Layer


class RandomLayer(Layer):
    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ConfigError(f"{type(self).__name__} {self.name!r}: seed must be an int or None, got {seed!r}")
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _create_weights(self, input_shape, rng):
        if self._rng is None:
            # No seed of its own: draw one from the model's (or the global) generator.
            self._rng = np.random.default_rng(seeding.child_seed(rng))
