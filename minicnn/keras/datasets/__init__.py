"""``keras.datasets``: ``mnist``, ``fashion_mnist`` and ``cifar10`` with Keras's ``load_data()``."""

from . import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
