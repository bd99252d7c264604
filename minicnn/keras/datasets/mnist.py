"""``keras.datasets.mnist.load_data()``: Keras's shapes and dtypes over ``minicnn.datasets.load_mnist``."""

import numpy as np

from ...datasets import load_mnist


def load_data(path=None):
    """``(x_train, y_train), (x_test, y_test)``: images (N, 28, 28) uint8, labels (N,) uint8, as Keras.

    ``path`` is a folder holding the official IDX files (else minicnn's usual
    places: ``MINICNN_DATA``, ``~/.minicnn/datasets``, downloading there if need be).
    """
    (x, y), (x_test, y_test) = load_mnist(data_dir=path)
    return (x[..., 0], y.astype(np.uint8)), (x_test[..., 0], y_test.astype(np.uint8))
