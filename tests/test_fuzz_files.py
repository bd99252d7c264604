"""Fuzzing the file loaders: damaged bytes load correctly or raise a minicnn error.

Hypothesis flips random bytes of, and truncates, a model file, a Keras
weights file (``.weights.h5`` and ``.keras``), an MNIST ``.gz`` file, the
decompressed IDX content, a CIFAR-10 batch pickle and an image folder zip.
Every case must either load or raise the loader's own error
(``ModelFileError``, ``KerasWeightsError``, ``DatasetError``) - never another
exception type, never a hang (each example has a deadline), never more than
``MEMORY_BOUND`` bytes of Python and NumPy allocations (``tracemalloc``'s
peak), and nothing may be left written next to the file.

How many cases: ``FUZZ_EXAMPLES`` per loader, by the hypothesis profile
(``HYPOTHESIS_PROFILE=ci``, the default, or ``dev``)::

    HYPOTHESIS_PROFILE=dev python -m pytest tests/test_fuzz_files.py

For the datasets, two depths are fuzzed: the bytes as they are on disk (the
checksum catches almost everything), and - worse - damaged content whose
checksum was made to match, which drives the damage past the checksum into
the IDX parser and the restricted unpickler.
"""

from __future__ import annotations

import gzip
import io
import hashlib
import os
import tempfile
import tracemalloc
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import zoo
from minicnn.datasets import cifar10, files, mnist
from minicnn.datasets.idx import encode_idx
from minicnn.errors import DatasetError, KerasWeightsError, ModelFileError

from .test_dataset_files import cifar_batch

FUZZ_EXAMPLES = {"ci": 200, "dev": 5000}[os.environ.get("HYPOTHESIS_PROFILE", "ci")]
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=5000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Every file fuzzed here is under 100 KB; refusing one must not cost more than
# this (Python objects and NumPy arrays, as tracemalloc sees them).
MEMORY_BOUND = 100 * 2**20


@contextmanager
def bounded_memory():
    """Fail if the block's peak traced allocation exceeds ``MEMORY_BOUND``."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= MEMORY_BOUND, f"peak allocation {peak / 2**20:.0f} MiB"


def damage(data: bytes, flips: list[tuple[int, int]], keep: float) -> bytes:
    """XOR the byte at each (fraction of the length -> position, mask), then
    keep the first ``keep`` fraction of the result."""
    out = bytearray(data)
    for where, mask in flips:
        out[min(int(where * len(out)), len(out) - 1)] ^= mask
    return bytes(out[: max(0, int(round(keep * len(out))))])


DAMAGE = dict(flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=4),
              keep=st.one_of(st.just(1.0), st.floats(0, 1)))


def _model_bytes() -> bytes:
    model = zoo.mnist_mlp(seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(np.zeros((4, 28, 28), np.float32), np.arange(4), verbose=0)
    with tempfile.TemporaryDirectory() as d:
        return model.save(Path(d) / "m.minicnn").read_bytes()


MODEL = _model_bytes()


@FUZZ
@given(**DAMAGE)
def test_damaged_model_files(flips, keep):
    data = damage(MODEL, flips, keep)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.minicnn"
        path.write_bytes(data)
        try:
            with bounded_memory():
                model = minicnn.load_model(path)
        except ModelFileError:
            pass
        else:  # whatever loaded is a usable model
            assert model.predict(np.zeros((1, 28, 28), np.float32), verbose=0).shape == (1, 10)
        assert [p.name for p in Path(d).iterdir()] == ["m.minicnn"]
        assert path.read_bytes() == data  # loading never writes


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setattr(mnist, "MNIST_URLS", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(cifar10, "URLS", ["http://127.0.0.1:9/"])
    return monkeypatch


RNG = np.random.default_rng(0)
IDX = {"train_images": encode_idx(RNG.integers(0, 256, (6, 28, 28))),
       "train_labels": encode_idx(RNG.integers(0, 10, 6)),
       "test_images": encode_idx(RNG.integers(0, 256, (3, 28, 28))),
       "test_labels": encode_idx(RNG.integers(0, 10, 3))}


def _write_mnist(folder: Path, contents: dict[str, bytes], offline, gz_damage=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    specs = {}
    for key, data in contents.items():
        name = mnist.MNIST_FILES[key].name
        raw = gzip.compress(data, mtime=0)
        if gz_damage is not None and key == "train_images":
            raw = damage(raw, *gz_damage)
        (folder / name).write_bytes(raw)
        specs[key] = files.FileSpec(name, content_md5=hashlib.md5(data).hexdigest())
    offline.setattr(mnist, "MNIST_FILES", specs)


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@FUZZ
@given(**DAMAGE)
def test_damaged_mnist_gz_files(offline, flips, keep):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        _write_mnist(root / "mnist", IDX, offline, gz_damage=(flips, keep))
        before = _listing(root)
        try:
            with bounded_memory():
                (x, _), _ = mnist.load_mnist(root)
            assert x.shape == (6, 28, 28, 1)  # only undamaged content can pass the checksum
        except DatasetError:
            pass
        assert _listing(root) == before


@FUZZ
@given(**DAMAGE)
def test_damaged_idx_content_with_a_matching_checksum(offline, flips, keep):
    contents = dict(IDX, train_labels=damage(IDX["train_labels"], flips, keep),
                    test_images=damage(IDX["test_images"], flips, keep))
    with tempfile.TemporaryDirectory() as d:
        _write_mnist(Path(d) / "mnist", contents, offline)
        try:
            with bounded_memory():
                (x, y), (xt, yt) = mnist.load_mnist(d)
            assert len(x) == len(y) and len(xt) == len(yt)
        except DatasetError:
            pass


BATCH, _, _ = cifar_batch(3, 0)


@FUZZ
@given(**DAMAGE)
def test_damaged_cifar_pickles_with_a_matching_checksum(flips, keep):
    data = damage(BATCH, flips, keep)
    saved = dict(cifar10.MEMBERS)
    cifar10.MEMBERS["data_batch_1"] = hashlib.md5(data).hexdigest()
    try:
        with bounded_memory():
            x, y = cifar10._batch("data_batch_1", data)
        assert x.shape[1:] == (32, 32, 3) and len(x) == len(y)
    except DatasetError:
        pass
    finally:
        cifar10.MEMBERS.clear()
        cifar10.MEMBERS.update(saved)


def _entries(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _graph_entries() -> dict[str, np.ndarray]:
    """A functional model's file: its config also lists each layer's inputs."""
    minicnn.clear_session()
    inputs = minicnn.layers.Input((4, 4, 2))
    x = minicnn.layers.Conv2D(2, 1)(inputs)
    x = minicnn.layers.Concatenate()([minicnn.layers.Add()([inputs, x]), x])
    model = minicnn.Model(inputs, minicnn.layers.Dense(3)(minicnn.layers.Flatten()(x)), seed=0)
    with tempfile.TemporaryDirectory() as d:
        model.save(Path(d) / "g.minicnn")
        return _entries((Path(d) / "g.minicnn").read_bytes())


# (the archive's entries, an input batch, the output shape it must give)
SAVED = {"sequential": (_entries(MODEL), np.zeros((1, 28, 28), np.float32), (1, 10)),
         "functional": (_graph_entries(), np.zeros((1, 4, 4, 2), np.float32), (1, 3))}


@pytest.mark.parametrize("kind", list(SAVED))
@FUZZ
@given(**DAMAGE)
def test_damaged_config_inside_an_intact_archive(kind, flips, keep):
    """Past the zip's CRC: a well-formed archive whose JSON config was damaged."""
    entries, x, out_shape = SAVED[kind]
    text = str(entries["config"]).encode()
    damaged = damage(text, flips, keep).decode("utf-8", errors="replace")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.minicnn"
        with open(path, "wb") as f:
            np.savez(f, **dict(entries, config=np.array(damaged)))
        try:
            with bounded_memory():
                model = minicnn.load_model(path)
        except ModelFileError:
            pass
        else:
            assert model.predict(x, verbose=0).shape == out_shape


# ---------------------------------------------------------------------------- Keras weight files
h5py = pytest.importorskip("h5py")


def _keras_weight_files() -> dict[str, bytes]:
    """The MLP's weights as Keras writes them: ``.weights.h5``, and inside a ``.keras`` zip."""
    from minicnn.io.keras_weights import save_keras_weights
    with tempfile.TemporaryDirectory() as d:
        h5 = save_keras_weights(zoo.mnist_mlp(seed=0), Path(d) / "m.weights.h5")
        with zipfile.ZipFile(Path(d) / "m.keras", "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("config.json", "{}")
            z.write(h5, "model.weights.h5")
        return {"m.weights.h5": h5.read_bytes(), "m.keras": (Path(d) / "m.keras").read_bytes()}


KERAS_FILES = _keras_weight_files()


@pytest.mark.parametrize("name", list(KERAS_FILES))
@FUZZ
@given(**DAMAGE)
def test_damaged_keras_weight_files(name, flips, keep):
    from minicnn.io.keras_weights import load_keras_weights
    data = damage(KERAS_FILES[name], flips, keep)
    model = zoo.mnist_mlp(seed=1)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        try:
            with bounded_memory():
                load_keras_weights(model, path)
        except KerasWeightsError:
            pass
        else:
            assert all(np.isfinite(w).all() for w in model.get_weights())
        assert [p.name for p in Path(d).iterdir()] == [name]


# ---------------------------------------------------------------------------- image folders
def _image_zip() -> bytes:
    """Two classes of two small PNG and JPEG images, zipped (stored, so that
    damage reaches the image decoders and not only the zip's CRC)."""
    from PIL import Image
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for c in ("cat", "dog"):
            for i, fmt in enumerate(("PNG", "JPEG")):
                image = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)).save(image, fmt)
                z.writestr(f"train/{c}/{i}.{fmt.lower()}", image.getvalue())
    return buffer.getvalue()


IMAGE_ZIP = _image_zip()


def _damaged_members(data: bytes, flips, keep) -> bytes:
    """The same zip with every member's bytes damaged (the zip itself stays valid)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, damage(source.read(info), flips, keep))
    return out.getvalue()


@pytest.mark.parametrize("depth", ["zip bytes", "image bytes"])
@FUZZ
@given(**DAMAGE)
@example(flips=[(0.9716635894027255, 7)], keep=1.0)  # a member claiming 117 MB stored in a 2 KB zip
@example(flips=[(0.90625, 64)], keep=1.0)              # a member needing zip version 8.4
def test_damaged_image_folder_zips(depth, flips, keep):
    from minicnn.datasets import load_image_folder
    data = (damage(IMAGE_ZIP, flips, keep) if depth == "zip bytes"
            else _damaged_members(IMAGE_ZIP, flips, keep))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "images.zip"
        path.write_bytes(data)
        try:
            with bounded_memory():
                x, y, names = load_image_folder(path, "train", verbose=False)
        except DatasetError:
            pass
        else:
            # a damaged name can move images to another class folder, or out of train/: still a folder
            assert x.dtype == np.uint8 and len(x) == len(y) and names == sorted(names) and all(names)
            assert set(y.tolist()) <= set(range(len(names)))
        assert [p.name for p in Path(d).iterdir()] == ["images.zip"]


# ---------------------------------------------------------------------------- claimed sizes
def _central_field(data: bytes, member: str, offset: int, value: bytes) -> bytes:
    """The zip with a field of ``member``'s central-directory entry overwritten."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_length = int.from_bytes(out[at + 28:at + 30], "little")
        if out[at + 46:at + 46 + name_length].decode() == member:
            out[at + offset:at + offset + len(value)] = value
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no member {member}")


def claim_stored_size(data: bytes, member: str, size: int) -> bytes:
    """``member``'s compressed size set to ``size`` (the field zipfile trusts when it reads a stored member)."""
    return _central_field(data, member, 20, size.to_bytes(4, "little"))


def claim_zip_version(data: bytes, member: str, version: int) -> bytes:
    """``member``'s "version needed to extract" set to ``version`` (84: 8.4, which zipfile refuses)."""
    return _central_field(data, member, 6, version.to_bytes(2, "little"))


def test_a_member_claiming_more_stored_bytes_than_the_file_is_refused_unread(tmp_path):
    from minicnn.datasets import load_image_folder
    from minicnn.io.keras_weights import load_keras_weights
    cases = [("images.zip", claim_stored_size(IMAGE_ZIP, "train/dog/1.jpeg", 2**30), DatasetError,
              lambda path: load_image_folder(path, "train", verbose=False)),
             ("m.minicnn", claim_stored_size(MODEL, "config.npy", 2**30), ModelFileError, minicnn.load_model),
             ("m.keras", claim_stored_size(KERAS_FILES["m.keras"], "model.weights.h5", 2**30), KerasWeightsError,
              lambda path: load_keras_weights(zoo.mnist_mlp(seed=0), path))]
    for name, data, error, load in cases:
        (tmp_path / name).write_bytes(data)
        with bounded_memory(), pytest.raises(error, match="claims 1073741824 stored bytes"):
            load(tmp_path / name)


def test_a_member_needing_an_unknown_zip_version_is_the_loaders_error(tmp_path):
    from minicnn.datasets import load_image_folder
    from minicnn.io.keras_weights import load_keras_weights
    cases = [("images.zip", claim_zip_version(IMAGE_ZIP, "train/cat/0.png", 84), DatasetError,
              lambda path: load_image_folder(path, "train", verbose=False)),
             ("m.minicnn", claim_zip_version(MODEL, "config.npy", 84), ModelFileError, minicnn.load_model),
             ("m.keras", claim_zip_version(KERAS_FILES["m.keras"], "model.weights.h5", 84), KerasWeightsError,
              lambda path: load_keras_weights(zoo.mnist_mlp(seed=0), path))]
    for name, data, error, load in cases:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(error, match="version 8.4"):
            load(tmp_path / name)
