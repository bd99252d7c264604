"""Small helpers that users of the seed notebooks reach for."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ShapeError


def scale_images(x: np.ndarray, dtype=np.float32) -> np.ndarray:
    """uint8 images in [0, 255] -> floats in [0, 1] (``x / 255``)."""
    return np.asarray(x, dtype=dtype) / dtype(255)


def to_one_hot(y: np.ndarray, num_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Integer labels (N,) -> one-hot rows (N, num_classes) (Keras ``to_categorical``)."""
    y = np.asarray(y).reshape(-1).astype(np.int64)
    k = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ShapeError(f"to_one_hot: labels must be in 0..{k - 1}, got {y.min()}..{y.max()}")
    out = np.zeros((y.size, k), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out


def train_test_split(x: np.ndarray, y: np.ndarray, test_size: float = 0.25, seed: int = 0,
                     stratify: bool = True):
    """Split (x, y) into ``x_train, x_test, y_train, y_test`` (scikit-learn's order).

    With ``stratify=True`` every class keeps the same share in both parts.
    """
    y = np.asarray(y)
    if len(x) != len(y):
        raise ShapeError(f"train_test_split: x has {len(x)} samples, y has {len(y)}")
    if not 0 < test_size < 1:
        raise ConfigError(f"train_test_split: test_size must be in (0, 1), got {test_size}")
    rng = np.random.default_rng(seed)
    if stratify:
        test_idx = []
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            test_idx.append(members[:int(round(len(members) * test_size))])
        test_idx = np.sort(np.concatenate(test_idx))
    else:
        test_idx = np.sort(rng.permutation(len(y))[:int(round(len(y) * test_size))])
    train_mask = np.ones(len(y), bool)
    train_mask[test_idx] = False
    return x[train_mask], x[test_idx], y[train_mask], y[test_idx]
