"""CIFAR-10: 32x32 colour images of 10 classes, from the official "python version".

The official archive ``cifar-10-python.tar.gz`` holds a folder
``cifar-10-batches-py/`` with five training batches, one test batch and
``batches.meta``. Each batch is a Python *pickle* of a dict::

    b"data"    uint8 array (10000, 3072): per image 1024 red, 1024 green, 1024 blue
               values, each plane row-major 32x32 -> reshaped to NHWC below
    b"labels"  list of 10000 ints in 0..9

Unpickling can run arbitrary code, so minicnn (1) checks each file's md5
against the official one *before* unpickling it, and (2) unpickles with an
allow-list that admits only what the official files contain: plain
containers and NumPy arrays. A pickle that asks for anything else - say
``os.system`` - is refused with :class:`~minicnn.errors.DatasetError`.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile

import numpy as np

from ..errors import DatasetError
from .files import FileSpec, fetch, search_roots

ARCHIVE = FileSpec("cifar-10-python.tar.gz", archive_md5="c58f30108f718f92721af3b95e74349a")
URLS = ["https://www.cs.toronto.edu/~kriz/"]
FOLDER = "cifar-10-batches-py"
# md5 of each file inside the archive (these are what is verified before unpickling).
MEMBERS = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# Everything a pickle of the official files may ask for: how NumPy rebuilds an array.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise DatasetError(f"refusing to unpickle {module}.{name}: a CIFAR-10 batch only holds "
                           "lists, dicts, strings and NumPy arrays, so this file is not genuine")


def safe_unpickle(data: bytes, what: str) -> object:
    """Unpickle ``data`` admitting only the types of the official CIFAR files."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except DatasetError:
        raise
    except Exception as exc:  # truncated or malformed pickle
        raise DatasetError(f"{what}: not a valid pickle ({type(exc).__name__}: {exc})") from None


def _member_bytes(data_dir) -> dict[str, bytes]:
    """The seven files, from an extracted folder if present, else from the archive."""
    roots = search_roots(data_dir)
    for root in roots:
        for folder in (root / "cifar10" / FOLDER, root / FOLDER):
            if all((folder / m).is_file() for m in MEMBERS):
                return {m: (folder / m).read_bytes() for m in MEMBERS}
    archive = fetch("CIFAR-10", "cifar10", ARCHIVE, URLS, data_dir)
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            for m in MEMBERS:
                # Read members by their exact expected name; nothing is extracted to disk.
                member = tar.getmember(f"{FOLDER}/{m}")
                out[m] = tar.extractfile(member).read()
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise DatasetError(f"CIFAR-10 archive is incomplete or corrupt: {exc}") from None
    return out


def _verified(name: str, data: bytes) -> bytes:
    got = hashlib.md5(data).hexdigest()
    if got != MEMBERS[name]:
        raise DatasetError(f"CIFAR-10 {name}: checksum mismatch (md5 {got}, official "
                           f"{MEMBERS[name]}); refusing to unpickle it")
    return data


def _batch(name: str, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    batch = safe_unpickle(_verified(name, data), f"CIFAR-10 {name}")
    try:
        flat, labels = batch[b"data"], np.asarray(batch[b"labels"], dtype=np.int64)
    except (TypeError, KeyError) as exc:
        raise DatasetError(f"CIFAR-10 {name}: missing field {exc}") from None
    if not isinstance(flat, np.ndarray) or flat.dtype != np.uint8 or flat.ndim != 2 \
            or flat.shape[1] != 3072 or len(labels) != len(flat):
        raise DatasetError(f"CIFAR-10 {name}: unexpected data layout")
    # (N, 3072) = (N, 3 planes, 32 rows, 32 cols) -> NHWC (N, 32, 32, 3)
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def load_cifar10(data_dir=None):
    """CIFAR-10: ``(x_train, y_train), (x_test, y_test)``; 50000/10000 images (N, 32, 32, 3) uint8.

    Labels are int64 of shape (N,); class names in ``CIFAR10_CLASSES``.
    """
    files = _member_bytes(data_dir)
    train = [_batch(f"data_batch_{i}", files[f"data_batch_{i}"]) for i in range(1, 6)]
    x_test, y_test = _batch("test_batch", files["test_batch"])
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), (x_test, y_test)


