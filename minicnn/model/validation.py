"""Checks on what users pass to ``fit`` / ``evaluate`` / ``predict`` / ``trace``.

Each check fails early with a message that names the model or layer, what
was expected and what arrived, instead of a NumPy broadcasting error three
layers deep.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ShapeError


def check_x(model, x, what: str = "x") -> np.ndarray:
    """Return ``x`` as a float array of the model's dtype, or raise."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype == object or not np.issubdtype(x.dtype, np.floating):
        hint = " (for images: x.astype('float32') / 255)" if np.issubdtype(x.dtype, np.integer) else ""
        raise InputError(f"model {model.name!r}: {what} must be a floating-point array, "
                         f"got dtype {x.dtype}{hint}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise InputError(f"model {model.name!r}: {what} must be a non-empty batch (samples first), "
                         f"got shape {x.shape}")
    finite = np.isfinite(x)
    if not finite.all():
        first = np.argwhere(~finite)[0]
        raise InputError(f"model {model.name!r}: {what} holds {int((~finite).sum())} NaN/Inf values "
                         f"(first at index {tuple(int(i) for i in first)}: {x[tuple(first)]})")
    if model.built and x.shape[1:] != model.input_shape:
        first_layer = model.layers[0]
        raise ShapeError(f"layer {first_layer.name!r} ({type(first_layer).__name__}), the first layer of "
                         f"model {model.name!r}, expects input of shape {(None,) + model.input_shape}, "
                         f"got {what} of shape {x.shape}")
    return x.astype(model.dtype, copy=False)


def check_y(model, x: np.ndarray, y, what: str = "y") -> np.ndarray:
    """Return ``y`` as an array with one row per sample of ``x``, or raise."""
    y = np.asarray(y)
    if y.dtype == object:
        raise InputError(f"model {model.name!r}: {what} must be a numeric array, got dtype object")
    if y.ndim == 0 or y.shape[0] != x.shape[0]:
        raise ShapeError(f"model {model.name!r}: x has {x.shape[0]} samples but {what} has "
                         f"{y.shape[0] if y.ndim else 'no'} (shape {y.shape})")
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise InputError(f"model {model.name!r}: {what} holds NaN/Inf values")
    return y


def check_batch_size(model, batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise InputError(f"model {model.name!r}: batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)
