"""Regression tests for what a hostile review found: each case fails on the code before its fix.

Nothing lost (a failed step changes nothing, saves keep modes and history),
nothing allocated before it is validated, and every bad input a minicnn error.
"""

from __future__ import annotations

import io
import json
import os
import stat
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import minicnn
from minicnn import layers, zoo
from minicnn.errors import InputError, ModelFileError, NonFiniteError


def _small_bn_model(seed=0):
    model = minicnn.Sequential([layers.Input((4, 4, 2)), layers.Conv2D(3, 3, padding="same", name="conv"),
                                layers.BatchNormalization(name="bn"), layers.ReLU(name="relu"),
                                layers.Flatten(), layers.Dense(2, activation="softmax", name="out")], seed=seed)
    return model


# ---------------------------------------------------------------- 1. BatchNorm statistics
@pytest.mark.parametrize("jit", [True, False])
def test_huge_inputs_leave_the_moving_statistics_as_they_were(jit, rng):
    """Finite float32 inputs scaled by 1e30: the batch variance overflows. The step is refused
    and the moving statistics keep their values (they used to end as inf and save as such)."""
    model = _small_bn_model()
    model.compile("sparse_categorical_crossentropy", "sgd", jit_compile=jit)
    x = (rng.standard_normal((6, 4, 4, 2)) * 1e30).astype(np.float32)
    bn = model.get_layer("bn")
    before = [w.copy() for w in bn.get_weights()]
    with pytest.raises(NonFiniteError) as info:
        model.fit(x, np.arange(6) % 2, epochs=1, batch_size=6, verbose=0)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert "forward pass: layer 'bn' (BatchNormalization) made its statistics ['moving_variance'] " \
        "non-finite" in str(info.value)


@pytest.mark.parametrize("jit", [True, False])
def test_a_failed_step_names_the_statistics_and_changes_nothing(jit, rng):
    """lr 1e10 blows the weights up after one good step; the failing step is refused whole."""
    model = _small_bn_model()
    model.compile("sparse_categorical_crossentropy", minicnn.optimizers.SGD(1e10), jit_compile=jit)
    x, y = rng.standard_normal((6, 4, 4, 2)).astype(np.float32), np.arange(6) % 2
    with pytest.raises(NonFiniteError) as info:
        for _ in range(10):
            saved = [w.copy() for w in model.get_weights()]
            model.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    assert "weights and statistics were not changed" in str(info.value)


# ---------------------------------------------------------------- 2, 3, 6. model files
def _archive(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _saved_members(tmp_path) -> tuple[dict[str, bytes], dict]:
    model = zoo.mnist_mlp(seed=0)
    model.compile("sparse_categorical_crossentropy", "adam", metrics=["accuracy"])
    path = model.save(tmp_path / "good.minicnn")
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    config = json.loads(str(np.load(io.BytesIO(members["config.npy"]))))
    return members, config


def _load(tmp_path, members: dict[str, bytes], name="bad.minicnn", compression=zipfile.ZIP_STORED):
    path = tmp_path / name
    path.write_bytes(_archive(members, compression))
    return minicnn.load_model(path)


def _with_config(members, config) -> dict[str, bytes]:
    return {**members, "config.npy": _npy(json.dumps(config))}


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
    except ModelFileError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def test_a_deflated_member_of_zeros_is_refused_before_it_expands(tmp_path):
    members, _ = _saved_members(tmp_path)
    bomb = _npy(np.zeros(2**28, np.float32))     # 1 GiB of zeros, a few MB deflated
    members = {**members, "w0000.npy": bomb}
    path = tmp_path / "bomb.minicnn"
    path.write_bytes(_archive(members, zipfile.ZIP_DEFLATED))
    assert path.stat().st_size < 8 * 2**20
    with pytest.raises(ModelFileError, match=r"w0000 is float32 \(268435456,\)"):
        minicnn.load_model(path)
    assert _peak_mib(lambda: minicnn.load_model(path)) < 100


def test_a_header_that_promises_more_than_the_member_holds_is_refused(tmp_path):
    members, _ = _saved_members(tmp_path)
    header = _npy(np.zeros(1, np.float32))[:-4].replace(b"(1,)", b"(999999999,)".ljust(4))
    with pytest.raises(ModelFileError):
        _load(tmp_path, {**members, "w0000.npy": header})


def test_a_config_asking_for_huge_layers_allocates_nothing(tmp_path):
    members, config = _saved_members(tmp_path)
    config["layers"][2]["config"]["units"] = 2**24     # a 15 KB file asking for GBs of kernel
    with pytest.raises(ModelFileError, match="more than the .* left in the file being loaded"):
        _load(tmp_path, _with_config(members, config))
    assert _peak_mib(lambda: _load(tmp_path, _with_config(members, config))) < 100


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.update(optimizer_arrays=10**8), "'optimizer_arrays' must be a count"),
    (lambda c: c.update(optimizer_arrays=float("inf")), "'optimizer_arrays' must be a count"),
    (lambda c: c["weights"][0].update(key=["w0000"]), "manifest is malformed"),
    (lambda c: c["weights"][0].update(shape=[3, 3]), "the manifest says"),
    (lambda c: c.update(version=True), "format version True"),
    (lambda c: c["training"].update(completed_epochs=-3), "completed_epochs must be a non-negative"),
    (lambda c: c["training"].update(completed_epochs=2.5), "completed_epochs must be a non-negative"),
])
def test_tampered_configs_are_refused(tmp_path, edit, match):
    members, config = _saved_members(tmp_path)
    edit(config)
    with pytest.raises(ModelFileError, match=match):
        _load(tmp_path, _with_config(members, config))


def test_a_deeply_nested_config_is_refused(tmp_path):
    members, _ = _saved_members(tmp_path)
    deep = '{"format": "minicnn-model", "version": 2, "x": ' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(ModelFileError):
        _load(tmp_path, {**members, "config.npy": _npy(deep)})


@pytest.mark.parametrize("member, value, match", [
    ("w0000.npy", b"not an npy file at all", "no valid array header"),
    ("w0001.npy", _npy(np.full(50, np.nan, np.float32)), "holds NaN or Inf"),
    ("w0001.npy", _npy(np.full(50, 1e300)), "too large for float32"),
    ("w0001.npy", _npy(np.zeros(50, np.complex64)), "expected numbers or text"),
    ("o0000.npy", _npy(np.array(-5)), "step count"),
    ("o0000.npy", _npy(np.array(2.7)), "step count"),
])
def test_tampered_values_are_refused(tmp_path, member, value, match):
    members, _ = _saved_members(tmp_path)
    with pytest.raises(ModelFileError, match=match):
        _load(tmp_path, {**members, member: value})


def test_a_negative_variance_and_a_duplicate_member_are_refused(tmp_path):
    model = _small_bn_model()
    model.compile("sparse_categorical_crossentropy", "sgd")
    path = model.save(tmp_path / "bn.minicnn")
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    bad = {**members, "w0005.npy": _npy(-np.ones(3, np.float32))}     # bn.moving_variance
    with pytest.raises(ModelFileError, match="negative variance"):
        _load(tmp_path, bad)
    twice = tmp_path / "twice.minicnn"
    with zipfile.ZipFile(twice, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        with pytest.warns(UserWarning):
            z.writestr("w0000.npy", members["w0000.npy"])
    with pytest.raises(ModelFileError, match="appears twice"):
        minicnn.load_model(twice)


def test_functional_outputs_and_metrics_are_checked(tmp_path):
    inputs = layers.Input((4,))
    model = minicnn.Model(inputs, layers.Dense(2, activation="softmax", name="out")(inputs))
    model.compile("sparse_categorical_crossentropy", "sgd")
    path = model.save(tmp_path / "f.minicnn")
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    config = json.loads(str(np.load(io.BytesIO(members["config.npy"]))))
    config["outputs"] = []
    with pytest.raises(ModelFileError, match="'outputs' must list the output layers"):
        _load(tmp_path, _with_config(members, config))
    settings = json.loads(str(np.load(io.BytesIO(members["compile.npy"]))))
    settings["metrics"] = ["precision@k"]
    with pytest.raises(ModelFileError, match=r"f.minicnn|bad.minicnn"):
        _load(tmp_path, {**members, "compile.npy": _npy(json.dumps(settings))})


# ---------------------------------------------------------------- 7. API inputs
@pytest.mark.parametrize("call, match", [
    (lambda m, x, y: m.fit(x, y, epochs=2.5, verbose=0), "epochs must be a non-negative int"),
    (lambda m, x, y: m.fit(x, y, epochs="3", verbose=0), "epochs must be a non-negative int"),
    (lambda m, x, y: m.fit(x, y, epochs=None, verbose=0), "epochs must be a non-negative int"),
    (lambda m, x, y: m.fit(x, y, validation_split="0.2", verbose=0), "validation_split must be a number"),
    (lambda m, x, y: m.fit(x, y, validation_data=(x,), verbose=0), "validation_data must be a pair"),
    (lambda m, x, y: m.fit(x, y, callbacks=5, verbose=0), "callbacks must be a list"),
    (lambda m, x, y: m.fit([[1.0, 2.0], [3.0]], y, verbose=0), "NumPy cannot stack"),
    (lambda m, x, y: m.fit(x, y, verbose="loud"), "verbose must be 0, 1 or 2"),
    (lambda m, x, y: m.set_weights(None), "set_weights expects a list"),
    (lambda m, x, y: m.layers[0].set_weights(None), "set_weights expects a list"),
])
def test_bad_arguments_raise_minicnn_errors(call, match, rng):
    model = zoo.mnist_mlp(seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd")
    x, y = rng.random((4, 28, 28), dtype=np.float32), np.arange(4)
    with pytest.raises(InputError, match=match):
        call(model, x, y)


# ---------------------------------------------------------------- 8. saving and resuming
def test_saves_keep_the_mode_a_user_expects(tmp_path):
    model = zoo.mnist_mlp(seed=0)
    old = os.umask(0o022)
    try:
        fresh = model.save(tmp_path / "fresh.minicnn")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644           # 0666 less the umask
        kept = tmp_path / "kept.minicnn"
        kept.write_bytes(b"")
        os.chmod(kept, 0o640)
        model.save(kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640            # written over: its own mode
    finally:
        os.umask(old)


def test_a_killed_save_leaves_a_temporary_file_the_next_save_removes(tmp_path):
    model = zoo.mnist_mlp(seed=0)
    path = tmp_path / "m.minicnn"
    leftover = tmp_path / ".m.minicnn.abc123.tmp"                    # what SIGKILL during a save leaves
    leftover.write_bytes(b"half a file")
    young = tmp_path / ".m.minicnn.def456.tmp"                       # a save still under way elsewhere
    young.write_bytes(b"being written")
    past = time.time() - 3600
    os.utime(leftover, (past, past))
    model.save(path)
    assert not leftover.exists() and young.exists()


def test_the_history_survives_a_resume(tmp_path, rng):
    x, y = rng.random((16, 28, 28), dtype=np.float32), np.arange(16) % 10
    model = zoo.mnist_mlp(seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    path = model.save(tmp_path / "m.minicnn")
    first_two = model.history.history["loss"]
    resumed = minicnn.load_model(path)
    resumed.fit(x, y, epochs=3, initial_epoch=resumed.completed_epochs, verbose=0)
    assert resumed.history.epoch == [0, 1, 2]
    assert resumed.history.history["loss"][:2] == first_two and len(resumed.history.history["loss"]) == 3
    again = minicnn.load_model(resumed.save(tmp_path / "m2.minicnn"))
    assert len(again.history.history["loss"]) == 3


# ---------------------------------------------------------------- 4. Keras weight files
def test_keras_weight_files_fail_with_one_error_type_and_read_nothing_unchecked(tmp_path):
    h5py = pytest.importorskip("h5py")
    from minicnn.errors import KerasWeightsError
    from minicnn.io import load_keras_weights, save_keras_weights
    model = zoo.mnist_mlp(seed=0)
    good = save_keras_weights(model, tmp_path / "good.weights.h5")
    (tmp_path / "junk.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(KerasWeightsError, match="junk.weights.h5"):
        load_keras_weights(model, tmp_path / "junk.weights.h5")
    # a legacy file whose layer_names list a group that is missing (was a raw KeyError)
    with h5py.File(tmp_path / "legacy.h5", "w") as f:
        f.attrs["layer_names"] = [b"dense", b"dense_1", b"dense_2", b"dense_3", b"dense_4"]
        f.create_group("dense").attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
    with pytest.raises(KerasWeightsError, match="legacy.h5"):
        load_keras_weights(model, tmp_path / "legacy.h5")
    # a 2 GiB dataset stored compressed in a small file: refused from its shape, before reading
    big = tmp_path / "big.weights.h5"
    with h5py.File(good, "r") as src, h5py.File(big, "w") as dst:
        src.copy(src["layers"], dst, "layers")
        src.copy(src["vars"], dst, "vars")
        first = "layers/dense/vars"
        del dst[first + "/0"]
        dst.create_dataset(first + "/0", shape=(2**29,), dtype="f4", chunks=(2**20,), compression="gzip")
    assert big.stat().st_size < 4 * 2**20
    with pytest.raises(KerasWeightsError, match=r"the file's array is float32 \(536870912,\)"):
        load_keras_weights(model, big)
    assert _peak_mib(lambda: load_keras_weights(model, big)) < 100
    # a .keras zip whose weights member claims more than the model could take
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.weights.h5", b"\0" * (64 * 2**20))
    with pytest.raises(KerasWeightsError, match="declares .* bytes, more than"):
        load_keras_weights(model, bomb)


# ---------------------------------------------------------------- 5. downloads and .gz files
def test_a_broken_server_reply_tries_the_next_mirror_and_stale_parts_go(tmp_path, monkeypatch):
    import gzip
    import hashlib
    import http.client
    from minicnn.datasets import files
    content = b"official content"
    spec = files.FileSpec("data.gz", content_md5=hashlib.md5(content).hexdigest())
    good = tmp_path / "server" / "data.gz"
    good.parent.mkdir()
    good.write_bytes(gzip.compress(content))
    calls = []
    real = files.urllib.request.urlopen

    def urlopen(url, timeout):
        calls.append(url)
        if "broken-status" in url:
            raise http.client.BadStatusLine("garbage")
        if "cut-short" in url:
            raise http.client.IncompleteRead(b"half", 100)
        return real(url, timeout=timeout)
    monkeypatch.setattr(files.urllib.request, "urlopen", urlopen)
    dest_dir = tmp_path / "cache" / "ds"
    dest_dir.mkdir(parents=True)
    stale = dest_dir / ".data.gz.abc.part"
    stale.write_bytes(b"left by a killed download")
    os.utime(stale, (time.time() - 3600,) * 2)
    got = files.fetch("ds", "ds", spec, ["http://broken-status/", "http://cut-short/",
                                         (tmp_path / "server").as_uri() + "/"], tmp_path / "cache")
    assert got == content and len(calls) == 3 and not stale.exists()


def test_a_gz_bomb_is_refused_while_it_decompresses(tmp_path):
    import gzip
    from minicnn.datasets import files
    from minicnn.errors import DatasetError
    bomb = tmp_path / "images.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (64 * 2**20)))
    spec = files.FileSpec("images.gz", content_md5="0" * 32, max_content_bytes=8 * 2**20)
    with pytest.raises(DatasetError, match="decompresses to more than"):
        files.read_verified(bomb, spec)
    tracemalloc.start()
    try:
        files.read_verified(bomb, spec)
    except DatasetError:
        pass
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert peak < 30
