"""Global settings: the float type of new weights and the kernel backend.

Two switches live here, both modelled on Keras:

* ``set_floatx("float32" | "float64")`` - the dtype of weights created from
  now on (Keras: ``keras.backend.set_floatx``). Training uses float32; the
  finite-difference gradient checks use float64.
* ``set_backend("im2col" | "numba" | "reference")`` - which convolution and
  pooling kernels every layer calls. ``"reference"`` runs the plain-loop
  kernels that read like the formulas, and also turns off the fast plan
  (``minicnn.fast``) whatever ``compile(jit_compile=...)`` says, so every
  number - convolution, pooling, activations, BatchNorm, the optimizers -
  comes from plain loops or NumPy and a learner can step through a whole
  model in a debugger; ``"numba"`` runs the same loops jitted; ``"im2col"``
  (the default) unrolls the windows and uses one BLAS matrix multiply. All
  have identical signatures and are tested to agree.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from .errors import ConfigError

_FLOATX = "float32"
_BACKEND = "im2col"
BACKENDS = ("im2col", "numba", "reference")


def floatx() -> str:
    """Return the dtype name used for newly created weights."""
    return _FLOATX


def set_floatx(name: str) -> None:
    """Set the dtype of weights created from now on (``float32`` or ``float64``)."""
    global _FLOATX
    if name not in ("float32", "float64"):
        raise ConfigError(f"set_floatx: expected 'float32' or 'float64', got {name!r}")
    _FLOATX = name


def float_dtype() -> np.dtype:
    """The NumPy dtype matching :func:`floatx`."""
    return np.dtype(_FLOATX)


def get_backend() -> str:
    """Return the name of the active kernel backend."""
    return _BACKEND


def set_backend(name: str) -> None:
    """Choose the kernels every layer calls: ``"im2col"``, ``"numba"`` or ``"reference"``."""
    global _BACKEND
    if name not in BACKENDS:
        raise ConfigError(f"set_backend: expected one of {BACKENDS}, got {name!r}")
    _BACKEND = name


@contextlib.contextmanager
def using(backend: str | None = None, floatx: str | None = None) -> Iterator[None]:
    """Temporarily switch backend and/or floatx (restored on exit).

    >>> with minicnn.config.using(backend="reference", floatx="float64"):
    ...     model = build_model()
    """
    old_backend, old_floatx = _BACKEND, _FLOATX
    try:
        if backend is not None:
            set_backend(backend)
        if floatx is not None:
            set_floatx(floatx)
        yield
    finally:
        set_backend(old_backend)
        set_floatx(old_floatx)
