"""``keras.datasets.cifar10.load_data()``: Keras's shapes and dtypes over ``minicnn.datasets.load_cifar10``."""

import numpy as np

from ...datasets import load_cifar10


def load_data(path=None):
    """``(x_train, y_train), (x_test, y_test)``: images (N, 32, 32, 3) uint8, labels (N, 1) uint8, as Keras.

    Reads the official archive (md5-verified) from ``path`` or minicnn's usual
    places. For CIFAR-10 as image files in class folders, use
    ``minicnn.datasets.load_image_folder``.
    """
    (x, y), (x_test, y_test) = load_cifar10(data_dir=path)
    return (x, y.astype(np.uint8).reshape(-1, 1)), (x_test, y_test.astype(np.uint8).reshape(-1, 1))
