"""Tier 2: minicnn against a live TensorFlow/Keras, on hypothesis-generated cases.

Skipped when TensorFlow is not installed - except in CI, where
``MINICNN_REQUIRE_TF=1`` turns a skip of this tier into a failure
(see ``conftest.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("tensorflow")

from tests.tf_reference import cases, keras_side, minicnn_side  # noqa: E402
from tests.tf_reference.compare import LAYER_TOL, MODEL_TOL, assert_close  # noqa: E402

pytestmark = pytest.mark.tf_live


def compare_layer(case: dict) -> None:
    specs, out_shape = minicnn_side.layer_specs(case)
    data = cases.layer_data(case, specs, out_shape)
    ours, theirs = minicnn_side.run_layer(case, data), keras_side.run_layer(case, data)
    assert set(ours) == set(theirs)
    for key in theirs:
        assert_close(ours[key], theirs[key], f"{case['layer']} {case['config']} {key}", LAYER_TOL)


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from(["valid", "same"]))
    h = draw(st.integers(kh if padding == "valid" else 1, 9))
    w = draw(st.integers(kw if padding == "valid" else 1, 9))
    config = dict(filters=draw(st.sampled_from([1, 2, 5, 16, 64])), kernel_size=(kh, kw),
                  strides=(draw(st.integers(1, 3)), draw(st.integers(1, 3))), padding=padding,
                  use_bias=draw(st.booleans()),
                  activation=draw(st.sampled_from([None, "relu", "tanh", "sigmoid", "leaky_relu"])))
    channels = draw(st.sampled_from([1, 3, 8, 64]))
    return dict(layer="Conv2D", config=config, shape=(draw(st.integers(1, 3)), h, w, channels),
                training=False, seed=draw(st.integers(0, 10**6)))


@given(conv_cases())
def test_conv2d_live(case):
    compare_layer(case)


def test_stride_larger_than_input():
    """Found by this tier: TF's oneDNN conv returned 0 here (see conftest.py)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 2, 1)).astype(np.float32)
    k = rng.standard_normal((1, 2, 1, 1)).astype(np.float32)
    by_hand = x[:, :, 0, 0] * k[0, 0, 0, 0] + x[:, :, 1, 0] * k[0, 1, 0, 0]  # (N, OH)
    case = dict(layer="Conv2D", config=dict(filters=1, kernel_size=(1, 2), strides=(1, 3),
                                            use_bias=False), shape=(2, 2, 2, 1), training=False, seed=0)
    data = {"x": x, "g": np.ones((2, 2, 1, 1), np.float32), "weights": [k]}
    ours, theirs = minicnn_side.run_layer(case, data), keras_side.run_layer(case, data)
    np.testing.assert_allclose(ours["y"][:, :, 0, 0], by_hand, rtol=1e-6)
    assert_close(ours["y"], theirs["y"], "stride 3 over width 2", LAYER_TOL)


@st.composite
def pool_cases(draw):
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from(["valid", "same"]))
    h = draw(st.integers(ph if padding == "valid" else 1, 9))
    w = draw(st.integers(pw if padding == "valid" else 1, 9))
    config = dict(pool_size=(ph, pw), strides=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                  padding=padding)
    return dict(layer=draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D"])), config=config,
                shape=(draw(st.integers(1, 3)), h, w, draw(st.integers(1, 4))), training=False,
                seed=draw(st.integers(0, 10**6)))


@given(pool_cases())
def test_pooling_live(case):
    compare_layer(case)


def test_max_pool_ties_live():
    """All-equal windows: TensorFlow sends the gradient to the first maximum."""
    case = dict(layer="MaxPooling2D", config=dict(pool_size=2, strides=1), shape=(1, 3, 3, 1),
                training=False, seed=0)
    specs, out_shape = minicnn_side.layer_specs(case)
    data = cases.layer_data(case, specs, out_shape)
    data["x"] = np.ones((1, 3, 3, 1), np.float32)
    ours, theirs = minicnn_side.run_layer(case, data), keras_side.run_layer(case, data)
    assert_close(ours["dx"], theirs["dx"], "tie gradient", LAYER_TOL)


@given(n=st.integers(1, 5), d=st.integers(1, 20), units=st.integers(1, 10), use_bias=st.booleans(),
       activation=st.sampled_from([None, "relu", "leaky_relu", "tanh", "sigmoid", "softmax"]),
       seed=st.integers(0, 10**6))
def test_dense_live(n, d, units, use_bias, activation, seed):
    compare_layer(dict(layer="Dense", config=dict(units=units, use_bias=use_bias, activation=activation),
                       shape=(n, d), training=False, seed=seed))


@given(shape=st.sampled_from([(1, 4), (5, 3), (2, 3, 3, 2), (1, 2, 2, 3), (4, 5, 1, 6)]),
       training=st.booleans(), momentum=st.sampled_from([0.99, 0.9, 0.5]),
       epsilon=st.sampled_from([1e-3, 1e-2]), seed=st.integers(0, 10**6))
def test_batch_normalization_live(shape, training, momentum, epsilon, seed):
    compare_layer(dict(layer="BatchNormalization", config=dict(momentum=momentum, epsilon=epsilon),
                       shape=shape, training=training, seed=seed))


@pytest.mark.parametrize("layer,config", [
    ("ReLU", {}), ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.05}),
    ("Activation", {"activation": "tanh"}), ("Activation", {"activation": "sigmoid"}),
    ("Activation", {"activation": "softmax"}), ("Activation", {"activation": "relu"}),
    ("Activation", {"activation": "leaky_relu"}), ("Softmax", {}), ("Flatten", {}),
    ("GlobalAveragePooling2D", {}), ("GlobalMaxPooling2D", {}), ("Dropout", {"rate": 0.0}),
    ("Normalization", {}),
])
@given(n=st.integers(1, 4), seed=st.integers(0, 10**6), training=st.booleans())
@settings(max_examples=8)
def test_simple_layers_live(layer, config, n, seed, training):
    if layer == "Dropout" and config["rate"] > 0:
        training = False
    compare_layer(dict(layer=layer, config=config, shape=(n, 3, 4, 2), training=training, seed=seed))


@pytest.mark.parametrize("case", cases.LOSS_CASES, ids=lambda c: c["name"])
@given(seed=st.integers(0, 10**6))
@settings(max_examples=8)
def test_losses_live(case, seed):
    case = dict(case, seed=seed)
    data = cases.loss_data(case)
    ours, theirs = minicnn_side.run_loss(case, data), keras_side.run_loss(case, data)
    assert_close(ours["value"], theirs["value"], f"{case['name']} value", LAYER_TOL)
    assert_close(ours["grad"], theirs["grad"], f"{case['name']} gradient", LAYER_TOL)


@pytest.mark.parametrize("case", cases.OPTIMIZER_CASES, ids=lambda c: c["name"])
@given(seed=st.integers(0, 10**6))
@settings(max_examples=5)
def test_optimizers_live(case, seed):
    case = dict(case, seed=seed)
    data = cases.optimizer_data(case)
    ours, theirs = minicnn_side.run_optimizer(case, data), keras_side.run_optimizer(case, data)
    for key in theirs:
        assert_close(ours[key], theirs[key], f"{case['name']} {key} after 10 steps", LAYER_TOL)


@pytest.mark.slow
@pytest.mark.parametrize("case", cases.MODEL_CASES, ids=lambda c: c["name"])
def test_seed_models_live(case):
    """Every layer's output, predict, input gradient and 5 training steps, full arrays."""
    from tests.test_tf_fixtures import _biases_feeding_batchnorm

    weights = cases.model_weights(minicnn_side.model_specs(case), case["seed"])
    data = cases.model_data(case)
    ours = minicnn_side.run_model(case, data, weights)
    theirs = keras_side.run_model(case, data, weights)
    assert set(ours) == set(theirs), set(ours) ^ set(theirs)
    skip = _biases_feeding_batchnorm(case)  # rounding-noise gradients: see that function
    for key in theirs:
        if key not in skip:
            assert_close(ours[key], theirs[key], f"{case['name']}: {key}", MODEL_TOL)


def test_global_max_pooling_ties_share_the_gradient_as_in_tensorflow():
    """Tied maxima: Keras's GlobalMaxPooling2D (reduce_max) splits dy equally among them."""
    import tensorflow as tf
    import keras
    from minicnn import layers

    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 3, 4, 5)).astype(np.float32)   # values 0..2: many ties
    dy = rng.standard_normal((2, 5)).astype(np.float32)
    ours = layers.GlobalMaxPooling2D()
    ours.build((3, 4, 5))
    np.testing.assert_array_equal(ours.forward(x), x.max(axis=(1, 2)))
    dx = ours.backward(dy)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = keras.layers.GlobalMaxPooling2D()(tx)
    np.testing.assert_allclose(dx, tape.gradient(y, tx, output_gradients=tf.constant(dy)).numpy(),
                               rtol=1e-6, atol=1e-7)
    ties = (x == x.max(axis=(1, 2), keepdims=True)).sum(axis=(1, 2))
    assert ties.max() > 1                                       # the case really has ties


@pytest.mark.parametrize("config,shape", [
    (dict(filters=3, kernel_size=3, strides=2, padding="same", output_padding=1), (2, 4, 5, 2)),
    (dict(filters=2, kernel_size=4, strides=2, padding="same", output_padding=1), (1, 3, 4, 3)),
    (dict(filters=2, kernel_size=(2, 3), strides=(3, 2), padding="valid", output_padding=(2, 1)), (2, 3, 3, 2)),
    (dict(filters=4, kernel_size=3, strides=1, padding="same", output_padding=0), (1, 5, 4, 2)),
])
@given(seed=st.integers(0, 10**6))
@settings(max_examples=4)
def test_conv2d_transpose_output_padding_live(config, shape, seed):
    compare_layer(dict(layer="Conv2DTranspose", config=config, shape=shape, training=False, seed=seed))


# ---------------------------------------------------------------- metrics and learning-rate callbacks
@given(seed=st.integers(0, 10**6), k=st.integers(1, 4))
@settings(max_examples=10)
def test_metrics_live(seed, k):
    """Accumulated over two batches of unequal size, as fit reports them."""
    import keras

    from minicnn import metrics as M
    rng = np.random.default_rng(seed)
    batches = []
    for n in (7, 3):
        labels = rng.integers(0, 5, n)
        scores = rng.random((n, 5)).astype(np.float32)
        scores[0, :] = scores[0, 0]                     # a row of ties
        batches.append((labels, np.eye(5, dtype=np.float32)[labels], scores))
    pairs = [(M.SparseTopKCategoricalAccuracy(k), keras.metrics.SparseTopKCategoricalAccuracy(k), "sparse"),
             (M.TopKCategoricalAccuracy(k), keras.metrics.TopKCategoricalAccuracy(k), "onehot"),
             (M.Precision(), keras.metrics.Precision(), "onehot"), (M.Recall(), keras.metrics.Recall(), "onehot"),
             (M.Precision(thresholds=0.3), keras.metrics.Precision(thresholds=0.3), "onehot")]
    for ours, theirs, labels_as in pairs:
        for labels, onehot, scores in batches:
            y = labels if labels_as == "sparse" else onehot
            ours.update(y, scores)
            theirs.update_state(y, scores)
        assert_close(ours.result(), float(theirs.result()), f"{type(ours).__name__} k={k}", LAYER_TOL)


def test_learning_rate_callbacks_live():
    """ReduceLROnPlateau and LearningRateScheduler set the same rates as Keras's, epoch by epoch."""
    import keras

    import minicnn
    from minicnn import callbacks as C
    val_losses = [1.0, 0.9, 0.95, 0.97, 0.96, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.91]

    def rates(cb_class, model, **kwargs):
        cb = cb_class(**kwargs)
        cb.set_model(model)
        cb.on_train_begin()
        seen = []
        for epoch, v in enumerate(val_losses):
            cb.on_epoch_begin(epoch)
            cb.on_epoch_end(epoch, {"val_loss": v})
            seen.append(float(np.asarray(model.optimizer.learning_rate)))
        return seen

    keras_model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ours = minicnn.Sequential([minicnn.layers.Dense(1, input_shape=(2,))])
    for cb_pair, kwargs in [((C.ReduceLROnPlateau, keras.callbacks.ReduceLROnPlateau),
                             dict(factor=0.5, patience=2, cooldown=1, min_lr=0.02)),
                            ((C.LearningRateScheduler, keras.callbacks.LearningRateScheduler),
                             dict(schedule=lambda epoch, lr: lr * 0.9 if epoch >= 3 else lr))]:
        keras_model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.1))
        ours.compile(loss="binary_crossentropy", optimizer=minicnn.optimizers.SGD(0.1))
        assert_close(rates(cb_pair[0], ours, **kwargs), rates(cb_pair[1], keras_model, **kwargs),
                     cb_pair[0].__name__, LAYER_TOL)
