"""What the Keras seed notebooks do, step by step, through ``minicnn.keras`` alone, on small data.

Seed 000 (MNIST: an MLP and the kconv CNN with legacy optimizers), seed 001
(the CIFAR-10 CNN_Classifier built with the functional API, one-hot labels,
an activation model over every layer), seed 004 (MobileNetV2 feature maps of
chosen blocks). Each test follows one notebook's flow with the imports changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import keras
from minicnn.errors import ConfigError
from minicnn.keras import Model, layers, models, optimizers, utils

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def test_the_namespace_holds_minicnns_own_objects():
    assert keras.layers.Conv2D is minicnn.layers.Conv2D
    assert keras.models.Sequential is minicnn.Sequential and keras.Model is minicnn.Model
    assert keras.optimizers.legacy.Adam is keras.optimizers.Adam is minicnn.optimizers.Adam
    assert keras.models.load_model is minicnn.load_model
    assert minicnn.datasets.load_image_folder is not None and minicnn.viz is not None   # subpackages at hand


def test_mnist_load_data_has_keras_shapes(monkeypatch):
    fake = (np.zeros((5, 28, 28, 1), np.uint8), np.arange(5)), (np.zeros((2, 28, 28, 1), np.uint8), np.arange(2))
    monkeypatch.setattr(keras.datasets.mnist, "load_mnist", lambda data_dir=None: fake)
    (x, y), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8 and y.dtype == np.uint8 and x_test.shape == (2, 28, 28)


def test_cifar10_load_data_has_keras_label_shape(monkeypatch):
    fake = (np.zeros((5, 32, 32, 3), np.uint8), np.arange(5)), (np.zeros((2, 32, 32, 3), np.uint8), np.arange(2))
    monkeypatch.setattr(keras.datasets.cifar10, "load_cifar10", lambda data_dir=None: fake)
    (x, y), _ = keras.datasets.cifar10.load_data()
    assert x.shape == (5, 32, 32, 3) and y.shape == (5, 1) and y.dtype == np.uint8


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="the shared MNIST files are not beside the project")
def test_mnist_load_data_reads_the_real_files():
    (x, y), (x_test, y_test) = keras.datasets.mnist.load_data(path=str(SHARED_MNIST))
    assert x.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28) and y[:3].tolist() == [5, 0, 4]


def test_seed_000_mlp_and_kconv(rng):
    x = rng.random((64, 28, 28)) / 1.0                 # as X / 255.0: float64 images (N, 28, 28)
    y = rng.integers(0, 10, 64).astype(np.uint8)
    normalize = layers.Normalization()
    normalize.adapt(x)
    kmlp = keras.models.Sequential([
        layers.Flatten(input_shape=(28, 28)),
        layers.Dense(50, activation="relu"),
        layers.Dense(100, activation="relu"),
        layers.Dense(10),
        layers.Softmax(),
    ])
    kmlp.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                 optimizer=keras.optimizers.legacy.SGD(learning_rate=0.05, momentum=0.0, nesterov=False,
                                                       name="SGD"),
                 metrics=["accuracy"])
    history = kmlp.fit(x[:48], y[:48], epochs=2, validation_data=(x[48:], y[48:]), verbose=True)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, accuracy = kmlp.evaluate(x, y, batch_size=128, verbose=0)
    assert kmlp.predict(x, batch_size=128, verbose=0).shape == (64, 10)
    kconv = keras.models.Sequential([
        layers.Conv2D(8, (2, 2), padding="same", activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPool2D(pool_size=(2, 2)), layers.Flatten(), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    kconv.compile(loss=keras.losses.SparseCategoricalCrossentropy(), optimizer=keras.optimizers.legacy.Adam(),
                  metrics=["accuracy"])
    kconv.fit(x[..., None], y, epochs=1, verbose=0)
    preds = np.argmax(kconv.predict(x[..., None], verbose=0), axis=1)
    assert preds.shape == (64,)
    conv_layer = layers.Conv2D(4, (3, 3), activation="relu", input_shape=(28, 28, 1))
    output = conv_layer(np.random.rand(1, 28, 28, 1))     # a layer called on an array returns its output
    assert output.shape == (1, 26, 26, 4) and (output >= 0).all()


def _cnn_classifier(classes: int = 10) -> Model:
    input_layer = layers.Input((32, 32, 3), name="input")
    x = input_layer
    for i, (filters, stride) in enumerate([(8, 1), (8, 2)], start=1):
        x = layers.Conv2D(filters=filters, kernel_size=3, strides=stride, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.LeakyReLU(name=f"leaky_relu{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(16, name="dense1")(x)
    x = layers.Dropout(rate=0.5, name="dropout")(x)
    x = layers.Dense(classes, name="dense2")(x)
    output_layer = layers.Activation("softmax", name="softmax")(x)
    return models.Model(input_layer, output_layer, name="CNN_Classifier")


def test_seed_001_functional_cnn_and_its_activation_model(tmp_path, rng):
    x_train = rng.integers(0, 256, (40, 32, 32, 3)).astype("float32") / 255.0
    y_train = utils.to_categorical(rng.integers(0, 10, (40, 1)), 10)       # Keras labels are (N, 1)
    assert y_train.shape == (40, 10)
    model = _cnn_classifier()
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer=optimizers.Adam(learning_rate=0.0005),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=1, validation_split=0.1, verbose=1)
    model.save(tmp_path / "cnn_model.h5")                  # as the seed does: Keras 2's format
    before = model.predict(np.expand_dims(x_train[15], axis=0), verbose=0)
    model = models.load_model(tmp_path / "cnn_model.h5")
    prediction = model.predict(np.expand_dims(x_train[15], axis=0), verbose=0)
    assert prediction.shape == (1, 10)
    np.testing.assert_allclose(prediction, before, rtol=1e-6)
    layer_names = [layer.name for layer in model.layers]
    assert layer_names[0] == "input"                       # a functional model lists its InputLayer first
    activation_model = Model(inputs=model.input, outputs=[layer.output for layer in model.layers])
    activations = activation_model.predict(np.expand_dims(x_train[15], axis=0), verbose=0)
    assert len(activations) == len(layer_names)
    assert activations[layer_names.index("leaky_relu1")].shape == (1, 32, 32, 8)
    assert activations[layer_names.index("leaky_relu2")].shape == (1, 16, 16, 8)
    np.testing.assert_array_equal(activations[0], x_train[15:16])   # the input itself


def test_seed_004_mobilenet_feature_maps(rng):
    from minicnn.keras.applications import MobileNetV2
    from minicnn.keras.applications.mobilenet_v2 import preprocess_input
    from minicnn.keras.preprocessing import image
    base_model = MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, weights=None, include_top=True)
    assert [layer.name for layer in base_model.layers if "conv" in layer.name][0] == "expanded_conv_depthwise"
    layer_names = ["block_1_expand", "block_3_expand"]
    feature_model = Model(inputs=base_model.input,
                          outputs=[base_model.get_layer(name).output for name in layer_names])
    img_array = np.expand_dims(rng.integers(0, 256, (64, 64, 3)).astype("float32"), axis=0)
    img_array = preprocess_input(img_array)
    assert img_array.min() >= -1 and img_array.max() <= 1
    assert base_model.predict(img_array, verbose=0).shape == (1, 1000)
    activations = feature_model.predict(img_array, verbose=0)
    assert activations[0][0].ndim == 3 and len(activations) == 2
    picture = image.array_to_img(rng.random((8, 8, 3)))
    assert image.img_to_array(picture).shape == (8, 8, 3)


def test_unsupported_keras_arguments_name_what_is_missing():
    with pytest.raises(ConfigError, match=r"Dense: minicnn does not support the Keras argument\(s\) "
                                          r"\['activity_regularizer'\]; this layer takes \['units', 'activation'"):
        layers.Dense(4, activity_regularizer="l2")


def test_plot_model_draws_the_layers_as_text(tmp_path):
    text = utils.plot_model(_cnn_classifier(), to_file=str(tmp_path / "model.txt"))
    assert "conv1 (Conv2D) -> (None, 32, 32, 8)  <- input" in text
    assert (tmp_path / "model.txt").read_text().startswith("input (InputLayer)")


def test_set_num_threads_sets_both_pools():
    import numba
    before = numba.get_num_threads()
    try:
        minicnn.set_num_threads(1)
        assert minicnn.get_num_threads() == 1
        from threadpoolctl import threadpool_info
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    finally:
        minicnn.set_num_threads(before)
    with pytest.raises(ConfigError, match="whole number"):
        minicnn.set_num_threads(0)
