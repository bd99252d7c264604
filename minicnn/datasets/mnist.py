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

# md5 of the decompressed official files (as published with MNIST), and their sizes:
# decompression stops past them, so a hostile .gz cannot expand further.
_SIZES = {"train_images": 47040016, "train_labels": 60008, "test_images": 7840016, "test_labels": 10008}
MNIST_FILES = {
    "train_images": FileSpec("train-images-idx3-ubyte.gz", content_md5="6bbc9ace898e44ae57da46a324031adb",
                             max_content_bytes=_SIZES["train_images"]),
    "train_labels": FileSpec("train-labels-idx1-ubyte.gz", content_md5="a25bea736e30d166cdddb491f175f624",
                             max_content_bytes=_SIZES["train_labels"]),
    "test_images": FileSpec("t10k-images-idx3-ubyte.gz", content_md5="2646ac647ad5339dbf082846283269ea",
                            max_content_bytes=_SIZES["test_images"]),
    "test_labels": FileSpec("t10k-labels-idx1-ubyte.gz", content_md5="27ae3e4e09519cfbb04c329615203637",
                            max_content_bytes=_SIZES["test_labels"]),
}
MNIST_URLS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]

# Fashion-MNIST publishes md5s of its .gz files only, so only those archives verify.
FASHION_FILES = {
    "train_images": FileSpec("train-images-idx3-ubyte.gz", archive_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                             max_content_bytes=_SIZES["train_images"]),
    "train_labels": FileSpec("train-labels-idx1-ubyte.gz", archive_md5="25c81989df183df01b3e8a0aad5dffbe",
                             max_content_bytes=_SIZES["train_labels"]),
    "test_images": FileSpec("t10k-images-idx3-ubyte.gz", archive_md5="bef4ecab320f06d8554ea6380940ec79",
                            max_content_bytes=_SIZES["test_images"]),
    "test_labels": FileSpec("t10k-labels-idx1-ubyte.gz", archive_md5="bb300cfdad3c16e7a12a480ee83cd310",
                            max_content_bytes=_SIZES["test_labels"]),
}
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
