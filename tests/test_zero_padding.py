"""ZeroPadding2D: Keras's padding forms, shapes, values, errors, and Keras itself."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import layers


@pytest.mark.parametrize("padding,expected", [
    (1, ((1, 1), (1, 1))), ((2, 3), ((2, 2), (3, 3))), (((0, 1), (2, 0)), ((0, 1), (2, 0))),
])
def test_padding_forms_and_values(padding, expected):
    layer = layers.ZeroPadding2D(padding)
    layer.build((3, 4, 2))
    (top, bottom), (left, right) = expected
    assert layer.padding == expected and layer.output_shape == (top + 3 + bottom, left + 4 + right, 2)
    x = np.arange(24, dtype=np.float32).reshape(1, 3, 4, 2) + 1
    y = layer.apply(x)
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))))
    np.testing.assert_array_equal(layer.backward(y), x)


@pytest.mark.parametrize("padding", [-1, (1, -2), ((1, 2), (3,)), "same", True])
def test_bad_padding_is_refused(padding):
    with pytest.raises(minicnn.ConfigError, match="ZeroPadding2D .*padding must be"):
        layers.ZeroPadding2D(padding)


def test_model_file_round_trip(tmp_path):
    model = minicnn.Sequential([layers.Input((5, 5, 1)), layers.ZeroPadding2D(((0, 1), (0, 1))),
                                layers.Conv2D(2, 3, strides=2)], seed=0)
    loaded = minicnn.load_model(model.save(tmp_path / "m.minicnn"))
    x = np.random.default_rng(0).random((2, 5, 5, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


@pytest.mark.tf_live
def test_matches_keras():
    pytest.importorskip("tensorflow")
    import keras
    import tensorflow as tf
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 2)).astype(np.float32)
    g = np.random.default_rng(2).standard_normal((2, 6, 5, 2)).astype(np.float32)
    theirs = keras.layers.ZeroPadding2D(((1, 2), (0, 1)))
    ours = layers.ZeroPadding2D(((1, 2), (0, 1)))
    ours.build(x.shape[1:])
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = theirs(xt)
        loss = tf.reduce_sum(y * g)
    np.testing.assert_array_equal(ours.apply(x), y.numpy())
    np.testing.assert_array_equal(ours.backward(g), tape.gradient(loss, xt).numpy())
