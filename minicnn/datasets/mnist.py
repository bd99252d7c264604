"""MNIST and Fashion-MNIST: 28x28 grayscale images of 10 classes, in IDX files.

``load_mnist()`` / ``load_fashion_mnist()`` return, like Keras,
``(x_train, y_train), (x_test, y_test)`` - here as NHWC uint8 images
(N, 28, 28, 1) and int64 labels 0..9. Where the files are looked for and how
they are downloaded: ``minicnn.datasets.files``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DatasetError
from .files import FileSpec, fetch
from .idx import parse_idx

# The four files, with the official decompressed sizes: decompression stops past them,
# so a hostile .gz cannot expand further.
_NAMES = {"train_images": ("train-images-idx3-ubyte.gz", 47040016),
          "train_labels": ("train-labels-idx1-ubyte.gz", 60008),
          "test_images": ("t10k-images-idx3-ubyte.gz", 7840016),
          "test_labels": ("t10k-labels-idx1-ubyte.gz", 10008)}


def _specs(**md5s: dict[str, str]) -> dict[str, FileSpec]:
    """One FileSpec per file; ``content_md5=`` or ``archive_md5=`` maps each file to its checksum."""
    (kind, by_file), = md5s.items()
    return {key: FileSpec(name, max_content_bytes=size, **{kind: by_file[key]})
            for key, (name, size) in _NAMES.items()}


# md5 of the decompressed official files (as published with MNIST).
MNIST_FILES = _specs(content_md5={
    "train_images": "6bbc9ace898e44ae57da46a324031adb", "train_labels": "a25bea736e30d166cdddb491f175f624",
    "test_images": "2646ac647ad5339dbf082846283269ea", "test_labels": "27ae3e4e09519cfbb04c329615203637"})
MNIST_URLS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]

# Fashion-MNIST publishes md5s of its .gz files only, so only those archives verify.
FASHION_FILES = _specs(archive_md5={
    "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
    "test_images": "bef4ecab320f06d8554ea6380940ec79", "test_labels": "bb300cfdad3c16e7a12a480ee83cd310"})
FASHION_URLS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


def _load(name: str, subdir: str, files: dict[str, FileSpec], urls: list[str], data_dir):
    parts = {}
    for key, spec in files.items():
        data = fetch(name, subdir, spec, urls, data_dir)
        parts[key] = parse_idx(data, f"{name} {spec.name}", 3 if key.endswith("images") else 1)
    for split in ("train", "test"):
        n_img, n_lab = len(parts[f"{split}_images"]), len(parts[f"{split}_labels"])
        if n_img != n_lab:
            raise DatasetError(f"{name}: {n_img} {split} images but {n_lab} labels")
    return ((parts["train_images"][..., None], parts["train_labels"].astype(np.int64)),
            (parts["test_images"][..., None], parts["test_labels"].astype(np.int64)))


def load_mnist(data_dir=None):
    """MNIST digits: ``(x_train, y_train), (x_test, y_test)``, 60000/10000 images (N, 28, 28, 1) uint8."""
    return _load("MNIST", "mnist", MNIST_FILES, MNIST_URLS, data_dir)


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST: same format as MNIST; class names in ``FASHION_CLASSES``."""
    return _load("Fashion-MNIST", "fashion_mnist", FASHION_FILES, FASHION_URLS, data_dir)
