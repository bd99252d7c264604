"""Whole models to Keras and back through ``.keras`` and Keras 2 ``.h5`` files: minicnn -> Keras ->
minicnn, and Keras -> minicnn -> Keras, for the seed models, a functional graph, MobileNetV2 and
models with augmentation and regularizers, with equal predictions."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import minicnn
from minicnn import applications, layers as L, regularizers, zoo
from minicnn.errors import ModelFileError

from .tf_reference import graphs

pytest.importorskip("h5py")

# float32 engines summing in different orders: 1e-5 on probabilities, as the issue asks
TOL = dict(rtol=1e-5, atol=1e-5)


def _randomized(model, seed=1):
    """Random weights (BatchNorm variances positive), so that a mix-up of arrays shows."""
    rng = np.random.default_rng(seed)
    model.set_weights([(np.abs(rng.normal(size=w.shape)) * 0.5 + 0.5 if w.ndim == 1 else
                        rng.normal(size=w.shape) * 0.2).astype(w.dtype) for w in model.get_weights()])
    return model


def _minicnn_models():
    minicnn.clear_session()
    inputs = L.Input((12, 12, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu", kernel_regularizer=regularizers.L2(0.01))(inputs)
    functional_graph = graphs.functional_graph(L, L.Input, minicnn.Model, (9, 9, 3))
    return {
        "mnist_mlp": (zoo.mnist_mlp(seed=0), (28, 28)),
        "mnist_cnn": (zoo.mnist_cnn(seed=0), (28, 28, 1)),
        "cifar10_cnn": (zoo.cifar10_cnn(seed=0), (32, 32, 3)),
        "cifar10_cnn_strong": (zoo.cifar10_cnn_strong(seed=0), (32, 32, 3)),
        "functional_graph": (functional_graph, (9, 9, 3)),
        "mobilenet_v2": (applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, classes=5), (32, 32, 3)),
        "regularized": (minicnn.Model(inputs, L.Dense(3, activation="softmax", bias_regularizer="l1")(
            L.Flatten()(L.MaxPooling2D()(x)))), (12, 12, 3)),
    }


@pytest.mark.tf_live
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", list(_minicnn_models()))
def test_minicnn_to_keras_and_back(tmp_path, name, suffix):
    keras = pytest.importorskip("keras")
    model, shape = _minicnn_models()[name]
    _randomized(model)
    x = np.random.default_rng(2).random((4,) + shape).astype(np.float32)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    theirs = keras.saving.load_model(tmp_path / f"m{suffix}", compile=False)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), expected, **TOL)
    again = tmp_path / f"again{suffix}"                     # Keras's own file, read by minicnn
    if suffix == ".h5" and _has_random_layers(theirs):
        again = tmp_path / "again.keras"                    # see _has_random_layers
    theirs.save(again)
    back = minicnn.load_model(again)
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, **TOL)
    assert [layer.name for layer in back.layers] == [layer.name for layer in model.layers]
    assert back.count_params() == model.count_params()


def _has_random_layers(keras_model) -> bool:
    """Keras 3.15's legacy .h5 writer cannot save its own random augmentation layers (deep-copying
    their seed generator fails: "cannot pickle 'module' object"), so those go through .keras."""
    return any(type(layer).__name__.startswith("Random") for layer in keras_model.layers)


def _keras_models(keras):
    L = keras.layers
    keras.utils.clear_session()
    from .tf_reference import cases, keras_side
    built = {case["name"]: (keras_side.make_model(case), tuple(case["input_shape"]))
             for case in cases.MODEL_CASES if case["name"] != "mobilenet_v2"}
    built["mobilenet_v2"] = (keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None,
                                                            classes=5), (32, 32, 3))
    built["augmented"] = (keras.Sequential([keras.Input((16, 16, 3)), L.Rescaling(1 / 255), L.RandomFlip("horizontal"),
                                            L.RandomTranslation(0.1, 0.1), L.Conv2D(4, 3), L.GlobalAveragePooling2D(),
                                            L.Dense(2)]), (16, 16, 3))
    return built


@pytest.mark.tf_live
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_files_load_into_minicnn_and_go_back(tmp_path, suffix):
    keras = pytest.importorskip("keras")
    for name, (theirs, shape) in _keras_models(keras).items():
        rng = np.random.default_rng(3)
        theirs.set_weights([(np.abs(rng.normal(size=w.shape)) * 0.5 + 0.5 if w.ndim == 1 else
                             rng.normal(size=w.shape) * 0.2).astype(np.float32) for w in theirs.get_weights()])
        x = rng.random((3,) + shape).astype(np.float32)
        expected = np.asarray(theirs.predict(x, verbose=0))
        if suffix == ".h5" and _has_random_layers(theirs):
            continue                                         # see _has_random_layers
        theirs.save(tmp_path / f"{name}{suffix}")
        ours = minicnn.load_model(tmp_path / f"{name}{suffix}")
        np.testing.assert_allclose(ours.predict(x, verbose=0), expected, **TOL, err_msg=name)
        ours.save(tmp_path / f"{name}_back{suffix}")
        again = keras.saving.load_model(tmp_path / f"{name}_back{suffix}", compile=False)
        np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)), expected, **TOL, err_msg=name)


def _keras_file(tmp_path, config: dict, name="m.keras"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return path


def test_what_minicnn_cannot_build_is_named(tmp_path):
    model = zoo.mnist_mlp(seed=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    lstm = json.loads(json.dumps(config))
    lstm["config"]["layers"][2]["class_name"] = "LSTM"
    with pytest.raises(ModelFileError, match="layer class 'LSTM' is not one minicnn has"):
        minicnn.load_model(_keras_file(tmp_path, lstm))
    dilated = zoo.mnist_cnn(seed=0)
    dilated.save(tmp_path / "c.keras")
    with zipfile.ZipFile(tmp_path / "c.keras") as archive:
        config = json.loads(archive.read("config.json"))
    config["config"]["layers"][1]["config"]["dilation_rate"] = [2, 2]
    with pytest.raises(ModelFileError, match=r"dilation_rate=\[2, 2\]; minicnn supports only \[1, 1\]"):
        minicnn.load_model(_keras_file(tmp_path, config, "d.keras"))
    with pytest.raises(ModelFileError, match="no config.json"):
        minicnn.load_model(_zip_without_config(tmp_path))
    with pytest.raises(ModelFileError, match="no model_config; a weights-only file"):
        from minicnn.io import save_keras_weights
        minicnn.load_model(save_keras_weights(model, tmp_path / "w.weights.h5").rename(tmp_path / "w.h5"))


def _zip_without_config(tmp_path):
    path = tmp_path / "w.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    return path
