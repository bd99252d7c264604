"""Model files: round trips, and a clear ModelFileError for every kind of damage."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import minicnn
from minicnn import zoo
from minicnn.errors import ModelFileError


def saved(tmp_path, build=zoo.cifar10_cnn):
    model = build(seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam(5e-4),
                  metrics=["accuracy"])
    return model, model.save(tmp_path / "model.minicnn")


def rewrite(path, edit):
    """Rewrite the archive's entries through ``edit(dict of arrays)``."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    edit(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("build", [zoo.mnist_mlp, zoo.mnist_cnn, zoo.cifar10_cnn])
def test_round_trip_is_bit_identical(tmp_path, build):
    model, path = saved(tmp_path, build)
    loaded = minicnn.load_model(path)
    x = np.random.default_rng(0).random((3,) + model.input_shape, dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.compiled and isinstance(loaded.optimizer, minicnn.optimizers.Adam)


def test_compile_settings_round_trip(tmp_path):
    model = zoo.mnist_mlp(seed=0)
    model.compile(loss=minicnn.losses.CategoricalCrossentropy(from_logits=True),
                  optimizer=minicnn.optimizers.SGD(0.05, momentum=0.9, nesterov=True))
    loaded = minicnn.load_model(model.save(tmp_path / "m.minicnn"))
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.metrics == []


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    model, path = saved(tmp_path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["model.minicnn"]


def test_truncated_file(tmp_path):
    _, path = saved(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        minicnn.load_model(path)


def test_not_a_model_file(tmp_path):
    (tmp_path / "x.minicnn").write_text("hello")
    with pytest.raises(ModelFileError, match="not a readable minicnn model file"):
        minicnn.load_model(tmp_path / "x.minicnn")
    with pytest.raises(ModelFileError, match="no such model file"):
        minicnn.load_model(tmp_path / "missing.minicnn")


def test_version_mismatch(tmp_path):
    _, path = saved(tmp_path)

    def bump(arrays):
        config = json.loads(str(arrays["config"]))
        config["version"] = 99
        arrays["config"] = np.array(json.dumps(config))
    rewrite(path, bump)
    with pytest.raises(ModelFileError, match=r"format version 99; this minicnn reads versions \[1, 2, 3\]"):
        minicnn.load_model(path)


@pytest.mark.parametrize("edit,match", [
    (lambda a: a.pop("w0003"), "the manifest lists 'w0003', which the file does not hold"),
    (lambda a: a.__setitem__("extra", np.zeros(3)), "unexpected member 'extra.npy'"),
    (lambda a: a.__setitem__("w0000", np.zeros((2, 2))), "array w0000 is float64 \\(2, 2\\); the manifest says conv1.kernel"),
    (lambda a: a.__setitem__("config", np.array("{not json")), "not valid JSON"),
])
def test_tampered_arrays_and_config(tmp_path, edit, match):
    _, path = saved(tmp_path)
    rewrite(path, edit)
    with pytest.raises(ModelFileError, match=match):
        minicnn.load_model(path)


def test_unknown_layer_class_is_never_imported(tmp_path):
    _, path = saved(tmp_path)

    def evil(arrays):
        config = json.loads(str(arrays["config"]))
        config["layers"][1]["class_name"] = "os.system"
        arrays["config"] = np.array(json.dumps(config))
    rewrite(path, evil)
    with pytest.raises(ModelFileError, match="unknown layer class 'os.system'"):
        minicnn.load_model(path)


def test_pickled_object_arrays_are_refused(tmp_path):
    _, path = saved(tmp_path)
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("evil.npy", buf.getvalue())
    with pytest.raises(ModelFileError):
        minicnn.load_model(path)


@pytest.mark.parametrize("build", [zoo.mnist_mlp, zoo.mnist_cnn, zoo.cifar10_cnn])
def test_loaded_model_continues_training_identically(tmp_path, build):
    """Optimizer state (Adam's moments and step), generators (dropout, shuffling)
    and BatchNorm statistics all come back: two more epochs agree bit for bit."""
    rng = np.random.default_rng(0)
    model = build(seed=0)
    x = rng.random((48,) + model.input_shape, dtype=np.float32)
    y = rng.integers(0, 10, 48)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam(1e-3),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    loaded = minicnn.load_model(model.save(tmp_path / "m.minicnn"))
    assert loaded.optimizer.iterations == model.optimizer.iterations == 3
    for m in (model, loaded):
        m.fit(x, y, epochs=3, initial_epoch=1, batch_size=16, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_without_optimizer_state_training_restarts_the_moments(tmp_path):
    rng = np.random.default_rng(0)
    model = zoo.mnist_mlp(seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(rng.random((32, 28, 28), dtype=np.float32), rng.integers(0, 10, 32), verbose=0)
    loaded = minicnn.load_model(model.save(tmp_path / "m.minicnn", include_optimizer=False))
    assert loaded.compiled and loaded.optimizer.iterations == 0


def test_version_1_files_still_load(tmp_path):
    model, path = saved(tmp_path)

    def downgrade(arrays):
        config = json.loads(str(arrays["config"]))
        config["version"] = 1
        for key in ("training", "optimizer_arrays"):
            config.pop(key)
        for key in [k for k in arrays if k.startswith("o")]:
            arrays.pop(key)
        arrays["config"] = np.array(json.dumps(config))
    rewrite(path, downgrade)
    loaded = minicnn.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.completed_epochs == 0


@pytest.mark.parametrize("edit,match", [
    (lambda a: a.pop("o0002"), "optimizer arrays"),
    (lambda a: a.__setitem__("o0001", np.zeros(7, np.float32)), "optimizer state does not fit"),
    (lambda a: a.__setitem__("w0001", np.array(["text"] * 32)), "the manifest says conv1.bias \\(32,\\) of floats"),
])
def test_tampered_optimizer_state(tmp_path, edit, match):
    _, path = saved(tmp_path)
    rewrite(path, edit)
    with pytest.raises(ModelFileError, match=match):
        minicnn.load_model(path)


def test_tampered_generator_state(tmp_path):
    _, path = saved(tmp_path)

    def evil(arrays):
        config = json.loads(str(arrays["config"]))
        config["training"]["generators"]["model"] = {"bit_generator": "MT19937", "state": 3}
        arrays["config"] = np.array(json.dumps(config))
    rewrite(path, evil)
    with pytest.raises(ModelFileError, match="training state"):
        minicnn.load_model(path)
