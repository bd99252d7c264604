"""Finite differences (float64) agree with every layer's ``backward``.

Shapes, strides, paddings and pool sizes come from hypothesis, including
stride > 1 with 'same' and odd input sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn import layers
from tests.gradcheck import assert_gradients_ok, check_layer


def away_from_zero(x: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """Move values off the kinks of ReLU-like functions (finite differences
    straddling a kink measure the average of two slopes)."""
    return np.where(np.abs(x) < margin, margin * np.sign(x) + (x == 0) * margin, x)


def build(layer, input_shape):
    layer.build(input_shape, np.random.default_rng(0))
    return layer


spatial = st.integers(1, 7)


@pytest.mark.parametrize("backend", ["im2col", "numba", "reference"])
@given(n=st.integers(1, 2), h=spatial, w=spatial, c=st.integers(1, 3), f=st.integers(1, 3),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), use_bias=st.booleans(),
       activation=st.sampled_from([None, "tanh", "sigmoid"]), seed=st.integers(0, 999))
def test_conv2d(backend, float64, n, h, w, c, f, kh, kw, sh, sw, padding, use_bias, activation, seed):
    if padding == "valid" and (kh > h or kw > w):
        padding = "same"
    with minicnn.config.using(backend=backend):
        layer = build(layers.Conv2D(f, (kh, kw), strides=(sh, sw), padding=padding,
                                    use_bias=use_bias, activation=activation), (h, w, c))
        x = np.random.default_rng(seed).standard_normal((n, h, w, c))
        assert_gradients_ok(check_layer(layer, x, seed=seed))


@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.AveragePooling2D])
@given(n=st.integers(1, 2), h=spatial, w=spatial, c=st.integers(1, 3), ph=st.integers(1, 3),
       pw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 999))
def test_pooling(cls, float64, n, h, w, c, ph, pw, sh, sw, padding, seed):
    if padding == "valid" and (ph > h or pw > w):
        padding = "same"
    layer = build(cls((ph, pw), strides=(sh, sw), padding=padding), (h, w, c))
    # Distinct values, well apart: no near-ties for the max to flip on under h = 1e-6.
    x = np.random.default_rng(seed).permutation(n * h * w * c).reshape(n, h, w, c) * 0.1
    assert_gradients_ok(check_layer(layer, x.astype(np.float64), seed=seed))


@given(n=st.integers(1, 3), d=st.integers(1, 6), u=st.integers(1, 5), use_bias=st.booleans(),
       activation=st.sampled_from([None, "relu", "leaky_relu", "tanh", "sigmoid", "softmax"]),
       seed=st.integers(0, 999))
def test_dense(float64, n, d, u, use_bias, activation, seed):
    layer = build(layers.Dense(u, activation=activation, use_bias=use_bias), (d,))
    x = np.random.default_rng(seed).standard_normal((n, d))
    if activation in ("relu", "leaky_relu"):
        # Keep pre-activations off 0 by checking with a bias-free shift.
        x = away_from_zero(x)
        if np.any(np.abs(x @ layer.kernel.value) < 1e-3):
            return
    assert_gradients_ok(check_layer(layer, x, seed=seed))


@pytest.mark.parametrize("training", [True, False])
@given(shape=st.sampled_from([(5,), (3, 4, 2), (1, 1, 3), (2, 3, 1)]), n=st.integers(1, 4),
       seed=st.integers(0, 999))
def test_batch_normalization(float64, training, shape, n, seed):
    layer = build(layers.BatchNormalization(), shape)
    rng = np.random.default_rng(seed)
    layer.gamma.value[...] = rng.uniform(0.5, 2, layer.gamma.value.shape)
    layer.beta.value[...] = rng.standard_normal(layer.beta.value.shape)
    layer.moving_mean.value[...] = rng.standard_normal(shape[-1:])
    layer.moving_variance.value[...] = rng.uniform(0.5, 2, shape[-1:])
    x = rng.standard_normal((n,) + shape) * 2 + 1
    assert_gradients_ok(check_layer(layer, x, training=training, seed=seed))


@pytest.mark.parametrize("make", [
    lambda: layers.ReLU(), lambda: layers.ReLU(max_value=1.0), lambda: layers.LeakyReLU(),
    lambda: layers.LeakyReLU(0.01), lambda: layers.Activation("tanh"),
    lambda: layers.Activation("sigmoid"), lambda: layers.Activation("linear"),
    lambda: layers.Softmax(), lambda: layers.Activation("softmax"),
], ids=["relu", "relu6-like", "leaky", "leaky0.01", "tanh", "sigmoid", "linear", "softmax",
        "activation-softmax"])
@given(shape=st.sampled_from([(4,), (3, 3, 2)]), n=st.integers(1, 3), seed=st.integers(0, 999))
def test_activation_layers(float64, make, shape, n, seed):
    layer = build(make(), shape)
    x = away_from_zero(np.random.default_rng(seed).standard_normal((n,) + shape) * 2)
    x = np.where(np.abs(x - 1.0) < 1e-3, 1.01, x)  # and off ReLU(max_value=1)'s cap
    assert_gradients_ok(check_layer(layer, x, seed=seed))


@given(shape=st.sampled_from([(2, 3, 4), (5,), (2, 2, 1)]), n=st.integers(1, 3), seed=st.integers(0, 999))
def test_reshaping_and_global_pooling(float64, shape, n, seed):
    x = np.random.default_rng(seed).standard_normal((n,) + shape)
    assert_gradients_ok(check_layer(build(layers.Flatten(), shape), x, seed=seed))
    total = int(np.prod(shape))
    assert_gradients_ok(check_layer(build(layers.Reshape((total, 1)), shape), x, seed=seed))
    if len(shape) == 3:
        assert_gradients_ok(check_layer(build(layers.GlobalAveragePooling2D(), shape), x, seed=seed))
        # standard normal draws: no two values of a channel tie, so max is differentiable
        assert_gradients_ok(check_layer(build(layers.GlobalMaxPooling2D(), shape), x, seed=seed))


@pytest.mark.parametrize("training", [True, False])
@given(rate=st.sampled_from([0.0, 0.3, 0.5]), seed=st.integers(0, 999))
def test_dropout(float64, training, rate, seed):
    layer = build(layers.Dropout(rate, seed=seed), (6,))
    x = np.random.default_rng(seed).standard_normal((3, 6))
    # The mask must be the same for every finite-difference evaluation.
    reseed = lambda: setattr(layer, "_rng", np.random.default_rng(seed))  # noqa: E731
    assert_gradients_ok(check_layer(layer, x, training=training, seed=seed, before_forward=reseed))


def test_normalization_after_adapt(float64, rng):
    layer = layers.Normalization()
    data = rng.standard_normal((50, 4, 3)) * 3 + 2
    layer.adapt(data)
    build(layer, (4, 3))
    assert_gradients_ok(check_layer(layer, rng.standard_normal((2, 4, 3)), seed=1))


@given(padding=st.sampled_from([0, 1, (2, 1), ((0, 2), (3, 1))]), shape=st.sampled_from([(2, 3, 1), (4, 1, 3)]),
       n=st.integers(1, 3), seed=st.integers(0, 999))
def test_zero_padding(float64, padding, shape, n, seed):
    x = np.random.default_rng(seed).standard_normal((n,) + shape)
    assert_gradients_ok(check_layer(build(layers.ZeroPadding2D(padding), shape), x, seed=seed))
