"""Dataset loaders on small files in the official formats, written by the tests.

Covers: IDX parsing, recompressed copies, checksum mismatch, truncation, the
offline message, atomic downloads (file:// URLs, nothing left behind on
failure), CIFAR-10 batches from a folder and from a tar.gz, and the refusal
of a malicious pickle.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from minicnn.datasets import cifar10, files, load_cifar10, load_fashion_mnist, load_mnist, mnist
from minicnn.datasets.idx import encode_idx, parse_idx
from minicnn.errors import DatasetError

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Never touch the real cache or environment: HOME points into tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setattr(mnist, "MNIST_URLS", ["http://127.0.0.1:9/"])  # refused at once: offline
    monkeypatch.setattr(mnist, "FASHION_URLS", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(cifar10, "URLS", ["http://127.0.0.1:9/"])


def tiny_mnist(folder: Path, monkeypatch, n_train=12, n_test=5, level=9) -> dict[str, bytes]:
    """Write a tiny MNIST in the official layout and make its checksums the official ones."""
    rng = np.random.default_rng(0)
    contents = {
        "train_images": encode_idx(rng.integers(0, 256, (n_train, 28, 28))),
        "train_labels": encode_idx(rng.integers(0, 10, n_train)),
        "test_images": encode_idx(rng.integers(0, 256, (n_test, 28, 28))),
        "test_labels": encode_idx(rng.integers(0, 10, n_test)),
    }
    folder.mkdir(parents=True, exist_ok=True)
    specs = {}
    for key, data in contents.items():
        name = mnist.MNIST_FILES[key].name
        (folder / name).write_bytes(gzip.compress(data, compresslevel=level))
        specs[key] = files.FileSpec(name, content_md5=hashlib.md5(data).hexdigest())
    monkeypatch.setattr(mnist, "MNIST_FILES", specs)
    return contents


# ---------------------------------------------------------------- IDX
def test_idx_header_is_big_endian_with_official_magic_numbers():
    images = encode_idx(np.zeros((2, 28, 28)))
    labels = encode_idx(np.zeros(2))
    assert int.from_bytes(images[:4], "big") == 2051 and int.from_bytes(labels[:4], "big") == 2049
    assert int.from_bytes(images[4:8], "big") == 2 and int.from_bytes(images[8:12], "big") == 28


def test_idx_round_trip_and_errors():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(encode_idx(a), "t", 3), a)
    with pytest.raises(DatasetError, match="magic number 2051, expected 2049"):
        parse_idx(encode_idx(a), "labels", 1)
    with pytest.raises(DatasetError, match="truncated"):
        parse_idx(encode_idx(a)[:-1], "t", 3)


# ---------------------------------------------------------------- MNIST
def test_load_mnist_from_data_dir(tmp_path, monkeypatch):
    contents = tiny_mnist(tmp_path / "data" / "mnist", monkeypatch)
    (x, y), (xt, yt) = load_mnist(data_dir=tmp_path / "data")
    assert x.shape == (12, 28, 28, 1) and x.dtype == np.uint8 and xt.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(y, parse_idx(contents["train_labels"], "", 1))
    assert y.dtype == np.int64


def test_minicnn_data_variable_and_uncompressed_files(tmp_path, monkeypatch):
    contents = tiny_mnist(tmp_path / "env" / "mnist", monkeypatch)
    for key, spec in mnist.MNIST_FILES.items():  # replace the .gz by the raw files
        (tmp_path / "env" / "mnist" / spec.name).unlink()
        (tmp_path / "env" / "mnist" / spec.name[:-3]).write_bytes(contents[key])
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "env"))
    (x, _), _ = load_mnist()
    assert len(x) == 12


def test_recompressed_copy_loads(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "d" / "mnist", monkeypatch, level=1)  # a different gzip stream
    (x, _), _ = load_mnist(data_dir=tmp_path / "d")
    assert len(x) == 12


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "d" / "mnist", monkeypatch)
    spec = mnist.MNIST_FILES["train_labels"]
    path = tmp_path / "d" / "mnist" / spec.name
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[-1] ^= 1  # one flipped label bit
    path.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        load_mnist(data_dir=tmp_path / "d")


def test_truncated_file_is_refused(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "d" / "mnist", monkeypatch)
    path = tmp_path / "d" / "mnist" / mnist.MNIST_FILES["train_images"].name
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        load_mnist(data_dir=tmp_path / "d")


def test_offline_message_says_where_it_looked_and_how_to_fix(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_mnist(data_dir=tmp_path / "nowhere")
    msg = str(err.value)
    assert "Looked for:" in msg and str(tmp_path / "nowhere" / "mnist") in msg
    assert ".minicnn/datasets" in msg
    assert "Tried to download:" in msg and "127.0.0.1:9/train-images-idx3-ubyte.gz" in msg
    assert "by hand" in msg
    assert not any((tmp_path / "nowhere").rglob("*")) if (tmp_path / "nowhere").exists() else True


def test_download_is_verified_and_atomic(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "server", monkeypatch)
    monkeypatch.setattr(mnist, "MNIST_URLS", ["http://127.0.0.1:9/", (tmp_path / "server").as_uri() + "/"])
    (x, _), _ = load_mnist()
    cache = tmp_path / "home" / ".minicnn" / "datasets" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(s.name for s in mnist.MNIST_FILES.values())
    assert len(x) == 12


def test_bad_download_leaves_nothing_behind(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "server", monkeypatch)
    spec = mnist.MNIST_FILES["train_images"]
    monkeypatch.setitem(mnist.MNIST_FILES, "train_images", files.FileSpec(spec.name, content_md5="0" * 32))
    monkeypatch.setattr(mnist, "MNIST_URLS", [(tmp_path / "server").as_uri() + "/"])
    with pytest.raises(DatasetError, match="checksum mismatch"):
        load_mnist()
    cache = tmp_path / "home" / ".minicnn" / "datasets" / "mnist"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_fashion_mnist_verifies_the_official_archive(tmp_path, monkeypatch):
    folder = tmp_path / "d" / "fashion_mnist"
    folder.mkdir(parents=True)
    specs = {}
    for key, spec in mnist.FASHION_FILES.items():
        shape = (3, 28, 28) if key.endswith("images") else (3,)
        blob = gzip.compress(encode_idx(np.ones(shape)))
        (folder / spec.name).write_bytes(blob)
        specs[key] = files.FileSpec(spec.name, archive_md5=hashlib.md5(blob).hexdigest())
    monkeypatch.setattr(mnist, "FASHION_FILES", specs)
    (x, y), _ = load_fashion_mnist(tmp_path / "d")
    assert x.shape == (3, 28, 28, 1)
    monkeypatch.setattr(mnist, "FASHION_FILES", dict(mnist.FASHION_FILES))
    with pytest.raises(DatasetError, match="only the official archive"):
        monkeypatch.setitem(mnist.FASHION_FILES, "train_images",
                            files.FileSpec(specs["train_images"].name, archive_md5="1" * 32))
        load_fashion_mnist(tmp_path / "d")


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no ../shared/data/mnist on this machine")
def test_real_mnist_counts_and_histogram():
    (x, y), (xt, yt) = load_mnist(data_dir=SHARED_MNIST.parent)
    assert x.shape == (60000, 28, 28, 1) and xt.shape == (10000, 28, 28, 1)
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---------------------------------------------------------------- CIFAR-10
class Py2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2 wrote it, like the official CIFAR-10 batches.

    Python 3 pickles ``bytes`` at protocol 2 through ``_codecs.encode``; the
    official files (written by Python 2) store them as plain *str* opcodes,
    and minicnn's allow-list admits exactly what those files need.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def cifar_batch(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A batch pickle laid out like the official ones (protocol 2, bytes keys)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    blob = py2_pickle({b"batch_label": b"testing batch", b"labels": labels, b"data": data,
                       b"filenames": [b"img_%d.png" % i for i in range(n)]})
    return blob, data, np.array(labels)


def tiny_cifar(folder: Path, monkeypatch) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    members, made = {}, {}
    for i, name in enumerate(cifar10.MEMBERS):
        if name == "batches.meta":
            blob = py2_pickle({b"label_names": [c.encode() for c in cifar10.CLASSES],
                               b"num_cases_per_batch": 4, b"num_vis": 3072})
        else:
            blob, data, labels = cifar_batch(4, i)
            made[name] = (data, labels)
        (folder / name).write_bytes(blob)
        members[name] = hashlib.md5(blob).hexdigest()
    monkeypatch.setattr(cifar10, "MEMBERS", members)
    return made


def test_cifar_from_extracted_folder_in_nhwc(tmp_path, monkeypatch):
    made = tiny_cifar(tmp_path / "d" / "cifar10" / cifar10.FOLDER, monkeypatch)
    (x, y), (xt, yt) = load_cifar10(tmp_path / "d")
    assert x.shape == (20, 32, 32, 3) and xt.shape == (4, 32, 32, 3) and x.dtype == np.uint8
    data, labels = made["data_batch_1"]
    # pixel (row 2, col 5) of image 0: red plane first, then green, then blue
    assert x[0, 2, 5].tolist() == [data[0, 2 * 32 + 5], data[0, 1024 + 2 * 32 + 5], data[0, 2048 + 2 * 32 + 5]]
    np.testing.assert_array_equal(y[:4], labels)


def test_cifar_from_the_archive(tmp_path, monkeypatch):
    tiny_cifar(tmp_path / "staging" / cifar10.FOLDER, monkeypatch)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "staging" / cifar10.FOLDER, arcname=cifar10.FOLDER)
    (tmp_path / "d" / "cifar10").mkdir(parents=True)
    (tmp_path / "d" / "cifar10" / cifar10.ARCHIVE.name).write_bytes(buf.getvalue())
    monkeypatch.setattr(cifar10, "ARCHIVE", files.FileSpec(cifar10.ARCHIVE.name,
                                                           archive_md5=hashlib.md5(buf.getvalue()).hexdigest()))
    (x, _), (xt, _) = load_cifar10(tmp_path / "d")
    assert x.shape == (20, 32, 32, 3) and xt.shape == (4, 32, 32, 3)


class _Exploit:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned > /tmp/minicnn_pwned",))


def test_malicious_pickle_is_refused_even_with_a_matching_checksum(tmp_path, monkeypatch):
    folder = tmp_path / "d" / "cifar10" / cifar10.FOLDER
    tiny_cifar(folder, monkeypatch)
    evil = py2_pickle({b"data": _Exploit(), b"labels": [0]})
    (folder / "data_batch_1").write_bytes(evil)
    monkeypatch.setitem(cifar10.MEMBERS, "data_batch_1", hashlib.md5(evil).hexdigest())
    with pytest.raises(DatasetError, match=r"refusing to unpickle (posix|os)\.system"):
        load_cifar10(tmp_path / "d")
    assert not Path("/tmp/minicnn_pwned").exists()


def test_tampered_batch_fails_its_checksum_before_unpickling(tmp_path, monkeypatch):
    folder = tmp_path / "d" / "cifar10" / cifar10.FOLDER
    tiny_cifar(folder, monkeypatch)
    (folder / "test_batch").write_bytes(py2_pickle({b"data": _Exploit()}))
    with pytest.raises(DatasetError, match="checksum mismatch.*refusing to unpickle"):
        load_cifar10(tmp_path / "d")


def test_cifar_offline_message(tmp_path):
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz is not on this machine"):
        load_cifar10(tmp_path / "empty")
