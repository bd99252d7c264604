"""Convolution and pooling kernels, in interchangeable implementations.

Each implementation module defines the same functions with the same
signatures:

* ``conv2d_forward``, ``conv2d_backward_input``, ``conv2d_backward_kernel``
* ``depthwise_conv2d_forward``, ``depthwise_conv2d_backward_input``,
  ``depthwise_conv2d_backward_kernel``
* ``max_pool2d_forward``, ``max_pool2d_backward``,
  ``avg_pool2d_forward``, ``avg_pool2d_backward``
* ``affine_sample`` (the augmentation layers' moving of pixels: ``resample``,
  ``resample_numba``)

``reference`` (``conv_reference`` + ``pool_reference``) reads like the
formulas; ``numba`` (``conv_numba`` + ``pool_numba``) is the same loops,
jitted; ``im2col`` (``conv_im2col`` + ``pool_numba``) turns each convolution
into one BLAS matrix multiply - a different algorithm, and the fastest, so it
is the default. Depthwise convolution has a reference and a Numba version
(``depthwise_reference``, ``depthwise_numba``); with no sum over channels
there is no matrix multiply to hand to BLAS, so ``im2col`` uses the Numba one.
Layers never import an implementation directly: they call :func:`active`,
which follows ``minicnn.set_backend``.
"""

from __future__ import annotations

from types import SimpleNamespace

from .. import config
from . import (conv_im2col, conv_numba, conv_reference, depthwise_numba, depthwise_reference,
               pool_numba, pool_reference, resample, resample_numba)
from .geometry import Geometry, output_length, window_geometry

_FUNCTIONS = (
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel",
    "depthwise_conv2d_forward", "depthwise_conv2d_backward_input", "depthwise_conv2d_backward_kernel",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "affine_sample",
)


def _collect(*modules) -> SimpleNamespace:
    table = {}
    for module in modules:
        for name in _FUNCTIONS:
            if hasattr(module, name):
                table[name] = getattr(module, name)
    return SimpleNamespace(**table)


IMPLEMENTATIONS = {
    "reference": _collect(conv_reference, depthwise_reference, pool_reference, resample),
    "numba": _collect(conv_numba, depthwise_numba, pool_numba, resample_numba),
    "im2col": _collect(conv_im2col, depthwise_numba, pool_numba, resample_numba),
}


def active() -> SimpleNamespace:
    """The kernel functions of the backend chosen with ``minicnn.set_backend``."""
    return IMPLEMENTATIONS[config.get_backend()]


__all__ = ["IMPLEMENTATIONS", "active", "Geometry", "output_length", "window_geometry"]
