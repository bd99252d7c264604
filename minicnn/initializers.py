"""Weight initializers, with Keras's fan rules.

For a kernel of shape ``(kh, kw, in, out)`` the *receptive field* is
``kh * kw``, and

    fan_in  = kh * kw * in        fan_out = kh * kw * out

(a Dense kernel ``(in, out)`` has a receptive field of 1). Then

==================  ===========================================================
``glorot_uniform``  U(-l, l), l = sqrt(6 / (fan_in + fan_out))   (Keras default)
``glorot_normal``   truncated N(0, s), s = sqrt(2 / (fan_in + fan_out)) / 0.8796
``he_normal``       truncated N(0, s), s = sqrt(2 / fan_in) / 0.8796
``he_uniform``      U(-l, l), l = sqrt(6 / fan_in)
``zeros``/``ones``  constants
==================  ===========================================================

The truncated normals are cut at two standard deviations and re-drawn there;
the 0.8796 (= std of a unit normal truncated to [-2, 2]) makes the *final*
standard deviation equal to the target, as in Keras's ``VarianceScaling``.
The numbers drawn differ from Keras's (different generators), the
distributions are the same.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import ConfigError

Initializer = Callable[[tuple[int, ...], np.random.Generator, np.dtype], np.ndarray]

# Standard deviation of N(0, 1) truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of this shape (Keras's rule)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _truncated_normal(shape, rng: np.random.Generator, std: float) -> np.ndarray:
    """N(0, std) re-drawn wherever a sample falls beyond two std."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * std


def glorot_uniform(shape, rng, dtype=np.float32) -> np.ndarray:
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, rng, dtype=np.float32) -> np.ndarray:
    fan_in, fan_out = compute_fans(shape)
    std = np.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATED_STD
    return _truncated_normal(shape, rng, std).astype(dtype)


def he_normal(shape, rng, dtype=np.float32) -> np.ndarray:
    fan_in, _ = compute_fans(shape)
    std = np.sqrt(2.0 / fan_in) / _TRUNCATED_STD
    return _truncated_normal(shape, rng, std).astype(dtype)


def he_uniform(shape, rng, dtype=np.float32) -> np.ndarray:
    fan_in, _ = compute_fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def zeros(shape, rng=None, dtype=np.float32) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def ones(shape, rng=None, dtype=np.float32) -> np.ndarray:
    return np.ones(shape, dtype=dtype)


_REGISTRY: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "zeros": zeros,
    "ones": ones,
}


def get(identifier: str | Initializer) -> Initializer:
    """Look an initializer up by name, or pass a callable through."""
    if callable(identifier):
        return identifier
    try:
        return _REGISTRY[identifier]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown initializer {identifier!r}; expected one of {sorted(_REGISTRY)} "
            "or a callable (shape, rng, dtype) -> array"
        ) from None


def name_of(init: Initializer) -> str:
    """The registry name of an initializer (for ``get_config``), or its repr."""
    for name, fn in _REGISTRY.items():
        if fn is init:
            return name
    return repr(init)
