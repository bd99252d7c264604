"""Random number generation: one seeded source for initializers, shuffling and dropout.

``minicnn.set_seed(n)`` reseeds the global generator; everything that draws
random numbers without an explicit seed (weight initializers, ``fit``'s
shuffling, ``Dropout`` without ``seed=``) takes them from it, so one call
makes a whole script reproducible. A model built with ``Sequential(seed=n)``
uses its own generator instead and does not touch the global one.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np

_GLOBAL_RNG = np.random.default_rng()


def set_seed(seed: int) -> None:
    """Reseed the global generator used by initializers, shuffling and dropout."""
    global _GLOBAL_RNG
    _GLOBAL_RNG = np.random.default_rng(seed)


def global_rng() -> np.random.Generator:
    """Return the global generator (reseeded by :func:`set_seed`)."""
    return _GLOBAL_RNG


def child_seed(rng: np.random.Generator) -> int:
    """Draw a seed for a new, independent generator from ``rng``."""
    return int(rng.integers(0, 2**31 - 1))


@contextmanager
def drawing_from(rng: np.random.Generator) -> Iterator[None]:
    """Make ``rng`` the global generator inside a ``with`` block, then restore it.

    Functional models build each layer when it is called, before the model
    exists; a builder such as ``applications.MobileNetV2(seed=...)`` uses this
    to give all of its layers one seeded source without touching the global one.
    """
    global _GLOBAL_RNG
    saved, _GLOBAL_RNG = _GLOBAL_RNG, rng
    try:
        yield
    finally:
        _GLOBAL_RNG = saved
