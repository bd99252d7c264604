"""The built-in shapes dataset and the dataset helpers."""

from __future__ import annotations

import numpy as np
import pytest

from minicnn.datasets import SHAPES_CLASSES, load_shapes, scale_images, to_one_hot, train_test_split
from minicnn.errors import ConfigError, ShapeError


def test_load_shapes_format_and_balance():
    (x, y), (xt, yt) = load_shapes(n=500, seed=3)
    assert x.dtype == np.uint8 and x.shape == (400, 28, 28, 1) and xt.shape == (100, 28, 28, 1)
    assert y.dtype == np.int64 and set(np.unique(np.concatenate([y, yt]))) == set(range(10))
    assert np.bincount(np.concatenate([y, yt])).tolist() == [50] * 10
    assert len(SHAPES_CLASSES) == 10


def test_load_shapes_is_deterministic_and_seed_dependent():
    a, b, c = load_shapes(n=100, seed=1), load_shapes(n=100, seed=1), load_shapes(n=100, seed=2)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[0][0], c[0][0])


def test_shapes_have_foreground_and_background():
    (x, _), _ = load_shapes(n=100)
    # Every image holds a bright shape on a darker background.
    assert (x.reshape(len(x), -1).max(axis=1) > 150).all()
    assert (np.median(x.reshape(len(x), -1), axis=1) < 100).all()


def test_load_shapes_rejects_bad_arguments():
    with pytest.raises(ConfigError):
        load_shapes(n=5)


def test_helpers():
    x = np.arange(40).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, seed=0)
    assert len(x_te) == 6 and np.bincount(y_te).tolist() == [3, 3]
    assert sorted(np.concatenate([x_tr[:, 0], x_te[:, 0]]).tolist()) == list(range(0, 40, 2))
    np.testing.assert_array_equal(to_one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ShapeError):
        to_one_hot([3], 3)
    assert scale_images(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
