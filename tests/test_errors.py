"""Bad input fails early, with a message naming the layer and both values."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import layers, zoo
from minicnn.errors import ConfigError, InputError, NotCompiledError, ShapeError


@pytest.fixture
def kconv():
    model = zoo.mnist_cnn(seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def test_wrong_input_shape_names_the_layer_and_both_shapes(kconv):
    with pytest.raises(ShapeError) as err:
        kconv.predict(np.zeros((2, 28, 28), np.float32), verbose=0)
    msg = str(err.value)
    assert "'conv2d' (Conv2D)" in msg and "(None, 28, 28, 1)" in msg and "(2, 28, 28)" in msg


def test_layer_level_shape_error_names_the_layer():
    layer = layers.Dense(3)
    layer.build((4,))
    with pytest.raises(ShapeError, match=r"layer 'dense' \(Dense\) expects input of shape \(None, 4\), got \(2, 5\)"):
        layer.apply(np.zeros((2, 5), np.float32))


def test_dense_on_images_suggests_flatten():
    model = minicnn.Sequential([layers.Dense(3)])
    with pytest.raises(ShapeError, match="Flatten"):
        model.build((None, 28, 28, 1))


def test_integer_input_is_refused_with_a_hint(kconv):
    with pytest.raises(InputError, match=r"floating-point.*uint8.*astype\('float32'\) / 255"):
        kconv.predict(np.zeros((1, 28, 28, 1), np.uint8), verbose=0)


def test_nan_input_is_refused_with_its_position(kconv):
    x = np.zeros((2, 28, 28, 1), np.float32)
    x[1, 3, 4, 0] = np.nan
    with pytest.raises(InputError, match=r"1 NaN/Inf values \(first at index \(1, 3, 4, 0\)"):
        kconv.fit(x, np.array([0, 1]), verbose=0)


def test_mismatched_x_and_y(kconv):
    with pytest.raises(ShapeError, match="x has 2 samples but y has 3"):
        kconv.fit(np.zeros((2, 28, 28, 1), np.float32), np.array([0, 1, 2]), verbose=0)


def test_label_out_of_range(kconv):
    with pytest.raises(ShapeError, match="label 10 is out of range for 10 classes"):
        kconv.evaluate(np.zeros((2, 28, 28, 1), np.float32), np.array([0, 10]), verbose=0)


def test_use_before_compile():
    model = zoo.mnist_mlp()
    with pytest.raises(NotCompiledError, match="compile"):
        model.fit(np.zeros((2, 28, 28), np.float32), np.array([0, 1]))
    with pytest.raises(NotCompiledError):
        model.evaluate(np.zeros((2, 28, 28), np.float32), np.array([0, 1]))
    with pytest.raises(NotCompiledError):
        model.trace(np.zeros((2, 28, 28), np.float32), np.array([0, 1]))
    model.predict(np.zeros((2, 28, 28), np.float32), verbose=0)  # predict needs no compile


@pytest.mark.parametrize("call,match", [
    (lambda: layers.Dense(10, activation="relu6_typo"), r"Dense 'dense(_\d+)?': unknown activation 'relu6_typo'"),
    (lambda: layers.Activation("swishy"), r"Activation 'activation(_\d+)?': unknown activation 'swishy'"),
    (lambda: zoo.mnist_mlp().compile(loss="mse_typo"), "unknown loss 'mse_typo'"),
    (lambda: zoo.mnist_mlp().compile(loss="sparse_categorical_crossentropy", optimizer="adamw_typo"),
     "unknown optimizer 'adamw_typo'"),
    (lambda: zoo.mnist_mlp().compile(loss="binary_crossentropy", metrics=["f1"]), "unknown metric 'f1'"),
    (lambda: layers.Conv2D(0, 3), "filters must be a positive int"),
    (lambda: layers.Conv2D(8, 3, padding="full"), "padding must be 'valid' or 'same'"),
    (lambda: layers.Conv2D(8, (3, 0)), "kernel_size must be positive"),
    (lambda: layers.MaxPool2D(pool_size=-2), "pool_size must be positive"),
    (lambda: layers.Dense(-1), "units must be a positive int"),
    (lambda: layers.Dropout(1.0), r"rate must be a number in \[0, 1\)"),
    (lambda: layers.LeakyReLU(-0.1), "negative_slope must be >= 0"),
    (lambda: minicnn.set_backend("cuda"), "set_backend"),
])
def test_bad_configuration_is_refused(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_duplicate_layer_names_are_refused():
    with pytest.raises(ConfigError, match="already exists"):
        minicnn.Sequential([layers.Dense(2, name="a", input_shape=(3,)), layers.Dense(2, name="a")])


def test_errors_are_catchable_as_builtin_types():
    assert issubclass(ShapeError, ValueError) and issubclass(NotCompiledError, RuntimeError)
    assert issubclass(ShapeError, minicnn.MiniCNNError)


def test_batchnorm_batch_of_one_in_training_is_allowed():
    model = zoo.cifar10_cnn(seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    loss = model.train_on_batch(np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32),
                                np.array([3]))
    assert np.isfinite(loss)


# ---------------------------------------------------------------- the README's validation table
# Each row of the table "What is validated" in README.md has a case here.

@pytest.mark.parametrize("call,error,match", [
    (lambda m: m.predict(np.array([[None] * 784], dtype=object).reshape(1, 28, 28, 1), verbose=0),
     InputError, "floating-point array, got dtype object"),
    (lambda m: m.predict(np.zeros((0, 28, 28, 1), np.float32), verbose=0), InputError, "non-empty batch"),
    (lambda m: m.predict(np.full((1, 28, 28, 1), np.inf, np.float32), verbose=0), InputError, "NaN/Inf"),
    (lambda m: m.trace(np.zeros((1, 32, 32, 3), np.float32)), ShapeError,
     r"expects input of shape \(None, 28, 28, 1\), got x of shape \(1, 32, 32, 3\)"),
    (lambda m: m.evaluate(np.zeros((2, 28, 28, 1), np.float32), np.array([0.5, 1.0]), verbose=0),
     ShapeError, "labels must be whole numbers"),
    (lambda m: m.fit(np.zeros((2, 28, 28, 1), np.float32), np.array([-1, 1]), verbose=0),
     ShapeError, "label -1 is out of range for 10 classes"),
    (lambda m: m.fit(np.zeros((2, 28, 28, 1), np.float32), np.array([0, 1]), batch_size=0, verbose=0),
     InputError, "batch_size must be a positive int"),
    (lambda m: m.fit(np.zeros((2, 28, 28, 1), np.float32), np.array([0, 1]), validation_split=1.5,
                     verbose=0), InputError, r"validation_split must be a number in \[0, 1\)"),
    (lambda m: m.fit(np.zeros((2, 28, 28, 1), np.float32), np.array([[0.0, 1.0]] * 2), verbose=0),
     ShapeError, r"expected y_true of shape \(2,\)"),
])
def test_bad_calls_are_refused(kconv, call, error, match):
    with pytest.raises(error, match=match):
        call(kconv)


def test_one_hot_targets_of_the_wrong_width():
    model = zoo.mnist_mlp(seed=0)
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ShapeError, match=r"got y_true \(2, 3\), y_pred \(2, 10\)"):
        model.fit(np.zeros((2, 28, 28), np.float32), np.eye(3)[[0, 1]], verbose=0)


@pytest.mark.parametrize("call,match", [
    (lambda: layers.Conv2D(8, 3, strides=0), "strides must be positive"),
    (lambda: layers.Conv2D(2.5, 3), "filters must be a positive int"),
    (lambda: layers.Dense(0), "units must be a positive int"),
    (lambda: layers.Dropout(-0.1), r"rate must be a number in \[0, 1\)"),
    (lambda: layers.AveragePooling2D(2, padding="full"), "padding must be 'valid' or 'same'"),
    (lambda: layers.MaxPool2D(2, strides=(1, 0)), "strides must be positive"),
    (lambda: layers.Conv2D(8, 3, activation=42), "activation"),
    (lambda: layers.BatchNormalization(momentum=1.5), "momentum"),
    (lambda: layers.BatchNormalization(epsilon=0), "epsilon"),
])
def test_more_bad_constructor_arguments(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_batchnorm_batch_of_one_in_training_is_correct():
    """One sample: the statistics are over its H*W positions (conv) - or a
    single value (dense), where the variance is 0 and the output is beta."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 5, 4, 3)).astype(np.float32)
    bn = layers.BatchNormalization()
    bn.build(x.shape[1:])
    gamma, beta = rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    bn.set_weights([gamma, beta, np.zeros(3, np.float32), np.ones(3, np.float32)])
    y = bn.apply(x, training=True)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-5, atol=1e-5)
    moving_mean, moving_var = bn.get_weights()[2:]
    np.testing.assert_allclose(moving_mean, 0.01 * mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(moving_var, 0.99 + 0.01 * var, rtol=1e-5)
    dense_bn = layers.BatchNormalization()
    dense_bn.build((3,))
    dense_bn.set_weights([gamma, beta, np.zeros(3, np.float32), np.ones(3, np.float32)])
    np.testing.assert_allclose(dense_bn.apply(x[:, 0, 0, :], training=True)[0], beta, atol=1e-6)
