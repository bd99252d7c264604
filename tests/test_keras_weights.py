"""Keras weight interchange: .weights.h5, .keras and legacy .h5, both ways.

The first tests need only h5py; the live ones save from a real Keras model
and load into minicnn (and back), then compare predictions.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import minicnn
from minicnn import layers, zoo
from minicnn.errors import MiniCNNError, ModelFileError
from minicnn.io import load_keras_weights, save_keras_weights
from minicnn.io.keras_weights import keras_paths, keras_snake_case

h5py = pytest.importorskip("h5py")


@pytest.mark.parametrize("cls,snake", [
    ("Conv2D", "conv2d"), ("BatchNormalization", "batch_normalization"), ("LeakyReLU", "leaky_re_lu"),
    ("ReLU", "re_lu"), ("MaxPooling2D", "max_pooling2d"), ("GlobalAveragePooling2D", "global_average_pooling2d"),
    ("GlobalMaxPooling2D", "global_max_pooling2d"),
    ("Dense", "dense"), ("DepthwiseConv2D", "depthwise_conv2d"), ("Softmax", "softmax"),
])
def test_snake_case_follows_keras(cls, snake):
    assert keras_snake_case(cls) == snake


def test_paths_count_layers_per_class():
    assert keras_paths(zoo.cifar10_cnn()) == [
        "layers/conv2d", "layers/batch_normalization", "layers/leaky_re_lu",
        "layers/conv2d_1", "layers/batch_normalization_1", "layers/leaky_re_lu_1",
        "layers/conv2d_2", "layers/batch_normalization_2", "layers/leaky_re_lu_2",
        "layers/conv2d_3", "layers/batch_normalization_3", "layers/leaky_re_lu_3",
        "layers/flatten", "layers/dense", "layers/batch_normalization_4", "layers/leaky_re_lu_4",
        "layers/dropout", "layers/dense_1", "layers/activation"]


def _randomized(model, seed=1, scale=1.0):
    """Random weights; vectors (biases, BatchNorm's four) positive, so that
    moving variances are valid."""
    rng = np.random.default_rng(seed)
    model.set_weights([(scale * (np.abs(rng.normal(size=w.shape)) + 0.5 if w.ndim == 1
                                 else rng.normal(size=w.shape))).astype(w.dtype)
                       for w in model.get_weights()])
    return model


@pytest.mark.parametrize("build", [zoo.mnist_mlp, zoo.mnist_cnn, zoo.cifar10_cnn])
def test_round_trip_through_a_weights_file(tmp_path, build):
    source = _randomized(build(seed=0))
    path = save_keras_weights(source, tmp_path / "m.weights.h5")
    target = build(seed=5)
    load_keras_weights(target, path)
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a .keras file is a zip holding the same weights file
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as z:
        z.writestr("config.json", "{}")
        z.write(path, "model.weights.h5")
    again = build(seed=6)
    load_keras_weights(again, tmp_path / "m.keras")
    for a, b in zip(source.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def _legacy_file(path, model, names=None):
    """A Keras 2 style file: layer_names in order, weight_names per layer."""
    with h5py.File(path, "w") as f:
        names = names or [layer.name for layer in model.layers]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name, layer in zip(names, model.layers):
            group = f.create_group(name)
            weight_names = [f"{name}/{p.name}:0".encode() for p in layer.weights]
            group.attrs["weight_names"] = np.array(weight_names)
            for w, p in zip(weight_names, layer.weights):
                group.create_dataset(w.decode(), data=p.value)


def test_legacy_h5_files_load_by_layer_order(tmp_path):
    source = _randomized(zoo.mnist_cnn(seed=0))
    _legacy_file(tmp_path / "legacy.h5", source, names=[f"k{i}" for i in range(len(source.layers))])
    target = zoo.mnist_cnn(seed=3)
    load_keras_weights(target, tmp_path / "legacy.h5")
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mismatches_are_named(tmp_path):
    conv = lambda filters: minicnn.Sequential([layers.Input((28, 28, 1)),  # noqa: E731
                                               layers.Conv2D(filters, 2, padding="same")])
    path = save_keras_weights(conv(32), tmp_path / "conv.weights.h5")
    wider = conv(16)
    with pytest.raises(ModelFileError, match=r"layer 'conv2d(_\d+)?' \(Conv2D\) weight 'kernel' has shape "
                                             r"\(2, 2, 1, 16\); the file's array is float32 \(2, 2, 1, 32\)"):
        load_keras_weights(wider, path)
    with pytest.raises(ModelFileError, match=r"no weights for layer .conv1. \(Conv2D, looked for layers/conv2d/vars\)"):
        load_keras_weights(zoo.cifar10_cnn(), save_keras_weights(zoo.mnist_mlp(), tmp_path / "mlp.weights.h5"))
    small = minicnn.Sequential([layers.Input((28, 28)), layers.Flatten(), layers.Dense(50)])
    with pytest.raises(ModelFileError, match=r"weights for \['dense_1', 'dense_2', 'dense_3', 'dense_4'\]"):
        load_keras_weights(small, tmp_path / "mlp.weights.h5")
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelFileError, match="not a readable Keras weights file"):
        load_keras_weights(small, tmp_path / "junk.weights.h5")
    with pytest.raises(ModelFileError, match="must end in .weights.h5|ending in .weights.h5"):
        save_keras_weights(small, tmp_path / "x.h5")


def test_without_h5py_the_error_says_what_to_install(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("no h5py")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(MiniCNNError, match="pip install h5py"):
        save_keras_weights(zoo.mnist_mlp(), "x.weights.h5")


# ---------------------------------------------------------------- live: a real Keras on the other side
@pytest.mark.tf_live
@pytest.mark.parametrize("name", ["mnist_mlp", "mnist_cnn", "cifar10_cnn"])
def test_keras_files_load_into_minicnn_and_back(tmp_path, name):
    pytest.importorskip("tensorflow")
    from tests.tf_reference import cases, keras_side
    case = next(c for c in cases.MODEL_CASES if c["name"] == name)
    theirs = keras_side.make_model(case)
    rng = np.random.default_rng(0)
    # random weights everywhere, moving variances kept positive
    theirs.set_weights([(0.3 * (np.abs(rng.normal(size=w.shape)) + 1.0 if w.ndim == 1
                                else rng.normal(size=w.shape))).astype(np.float32)
                        for w in theirs.get_weights()])
    x = rng.random((4,) + tuple(case["input_shape"]), dtype=np.float32)
    expected = theirs.predict(x, verbose=0)
    build = getattr(zoo, name)
    for filename in ("k.weights.h5", "k.keras", "legacy.h5"):
        if filename == "k.weights.h5":
            theirs.save_weights(tmp_path / filename)
        else:
            theirs.save(tmp_path / filename)
        ours = build(input_shape=tuple(case["input_shape"]), seed=9)
        load_keras_weights(ours, tmp_path / filename)
        np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5,
                                   err_msg=filename)
    # and back: minicnn -> .weights.h5 -> a fresh Keras model
    source = _randomized(build(input_shape=tuple(case["input_shape"]), seed=1), scale=0.3)
    path = save_keras_weights(source, tmp_path / "from_minicnn.weights.h5")
    fresh = keras_side.make_model(case)
    fresh.load_weights(path)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), source.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)
