"""Datasets: the built-in ``load_shapes`` (offline), MNIST, Fashion-MNIST, CIFAR-10, helpers.

Every loader returns ``(x_train, y_train), (x_test, y_test)`` with uint8 NHWC
images and int64 labels, like ``keras.datasets``.
"""

from .cifar10 import CLASSES as CIFAR10_CLASSES
from .cifar10 import load_cifar10
from .image_folder import load_image_folder
from .mnist import FASHION_CLASSES, load_fashion_mnist, load_mnist
from .shapes import CLASS_NAMES as SHAPES_CLASSES
from .shapes import load_shapes
from .utils import scale_images, to_one_hot, train_test_split

MNIST_CLASSES = tuple(str(d) for d in range(10))

__all__ = ["CIFAR10_CLASSES", "FASHION_CLASSES", "MNIST_CLASSES", "SHAPES_CLASSES", "load_cifar10",
           "load_fashion_mnist", "load_image_folder", "load_mnist", "load_shapes", "scale_images", "to_one_hot",
           "train_test_split"]
