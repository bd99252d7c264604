"""Checks on what users pass to ``fit`` / ``evaluate`` / ``predict`` / ``trace``.

Each check fails early with a message that names the model or layer, what
was expected and what arrived, instead of a NumPy broadcasting error three
layers deep.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ShapeError


def _as_array(model, value, what: str) -> np.ndarray:
    """``np.asarray(value)``, with a minicnn error for a ragged list or a non-array."""
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"model {model.name!r}: {what} must be an array (or a list of equal-shaped "
                         f"samples), got {type(value).__name__} that NumPy cannot stack ({exc})") from None


def check_x(model, x, what: str = "x") -> np.ndarray:
    """Return ``x`` as a float array of the model's dtype, or raise."""
    x = _as_array(model, x, what)
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
    y = _as_array(model, y, what)
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


def check_epochs(model, epochs, initial_epoch) -> tuple[int, int]:
    """``epochs`` and ``initial_epoch`` as non-negative ints, or raise."""
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InputError(f"model {model.name!r}: {name} must be a non-negative int, got {value!r}")
    return int(epochs), int(initial_epoch)


def check_validation_split(model, split) -> float:
    if isinstance(split, bool) or not isinstance(split, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(split) < 1.0:
        raise InputError(f"model {model.name!r}: validation_split must be a number in [0, 1), got {split!r}")
    return float(split)


def check_validation_data(model, data) -> tuple:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = f"a {type(data).__name__} of {len(data)}" if isinstance(data, (tuple, list)) else type(data).__name__
        raise InputError(f"model {model.name!r}: validation_data must be a pair (x_val, y_val), got {got}")
    return tuple(data)


def check_callbacks(model, callbacks) -> list:
    from ..callbacks import Callback
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise InputError(f"model {model.name!r}: callbacks must be a list of Callback objects, "
                         f"got {type(callbacks).__name__}")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise InputError(f"model {model.name!r}: callbacks must be minicnn Callback objects, "
                             f"got {type(cb).__name__}")
    return list(callbacks)


def check_verbose(model, verbose) -> int:
    if isinstance(verbose, bool):
        return int(verbose)
    if not isinstance(verbose, (int, np.integer)) or verbose not in (0, 1, 2):
        raise InputError(f"model {model.name!r}: verbose must be 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def sample_weights(model, y: np.ndarray, sample_weight, class_weight, n: int) -> np.ndarray | None:
    """One weight per sample from ``sample_weight`` (N,) and/or ``class_weight``
    ({class index: weight}, looked up by each sample's label); None when neither is given.
    Not both (as Keras)."""
    if sample_weight is not None and class_weight is not None:
        raise InputError(f"model {model.name!r}: pass class_weight or sample_weight, not both (as Keras)")
    weights = None
    if sample_weight is not None:
        weights = _as_array(model, sample_weight, "sample_weight")
        if weights.shape != (n,) or not np.issubdtype(weights.dtype, np.number) \
                or not np.isfinite(weights).all() or (weights < 0).any():
            raise InputError(f"model {model.name!r}: sample_weight must be {n} finite non-negative numbers "
                             f"(one per sample), got shape {weights.shape}, dtype {weights.dtype}")
        weights = weights.astype(np.float64)
    if class_weight is not None:
        if not isinstance(class_weight, dict) or not class_weight:
            raise InputError(f"model {model.name!r}: class_weight must be a dict {{class index: weight}}, "
                             f"got {class_weight!r}")
        labels = y.reshape(-1) if y.ndim == 1 or y.shape[1:] == (1,) else y.argmax(axis=-1)
        table = {}
        for key, value in class_weight.items():
            if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0 or isinstance(value, bool) \
                    or not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value < 0:
                raise InputError(f"model {model.name!r}: class_weight maps class indices (ints) to "
                                 f"non-negative numbers, got {key!r}: {value!r}")
            table[int(key)] = float(value)
        missing = sorted(set(np.unique(labels).astype(int).tolist()) - set(table))
        if missing:
            raise InputError(f"model {model.name!r}: class_weight has no weight for class(es) {missing[:10]}")
        per_class = np.zeros(int(labels.max()) + 1)     # classes beyond the labels' are never looked up
        for key, value in table.items():
            if key < len(per_class):
                per_class[key] = value
        weights = per_class[labels.astype(np.int64)]
    return weights
