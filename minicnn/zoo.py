"""The seed notebooks' models, rebuilt layer for layer in minicnn.

==============  ===========================================================  =========
function        architecture                                                 params
==============  ===========================================================  =========
``mnist_mlp``   Flatten, Dense 50/100/100/100 relu, Dense 10, Softmax        65,560
``mnist_cnn``   ("kconv") five 2x2 'same' relu Conv2D, three MaxPool2D,      279,914
                Dense 128 he_normal, Dropout .5, Dense 64 he_normal,
                Dropout .5, Dense 10 softmax
``cifar10_cnn`` ("CNN_Classifier") 4 x [Conv2D 3x3 'same', BatchNorm,        592,554
                LeakyReLU] with stride 2 on conv2/conv4, Flatten, Dense 128,  (640 non-
                BatchNorm, LeakyReLU, Dropout .5, Dense 10, softmax          trainable)
==============  ===========================================================  =========
"""

from __future__ import annotations

from .layers import (Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input,
                     LeakyReLU, MaxPool2D, RandomFlip, RandomTranslation, Softmax)
from .model.sequential import Sequential


def mnist_mlp(input_shape=(28, 28), seed: int | None = None) -> Sequential:
    """The seed MLP for 28x28 MNIST digits (trained with SGD, learning rate 0.05)."""
    return Sequential([
        Flatten(input_shape=input_shape),
        Dense(50, activation="relu"),
        Dense(100, activation="relu"),
        Dense(100, activation="relu"),
        Dense(100, activation="relu"),
        Dense(10),
        Softmax(),
    ], seed=seed)


def mnist_cnn(input_shape=(28, 28, 1), dropout: float = 0.5, seed: int | None = None) -> Sequential:
    """The seed CNN ``kconv`` for MNIST (trained with Adam)."""
    return Sequential([
        Conv2D(32, (2, 2), padding="same", activation="relu", input_shape=input_shape),
        MaxPool2D(pool_size=(2, 2)),
        Conv2D(64, (2, 2), padding="same", activation="relu"),
        Conv2D(64, (2, 2), padding="same", activation="relu"),
        MaxPool2D(2),
        Conv2D(128, (2, 2), padding="same", activation="relu"),
        Conv2D(128, (2, 2), padding="same", activation="relu"),
        MaxPool2D(),
        Flatten(),
        Dense(128, activation="relu", kernel_initializer="he_normal"),
        Dropout(dropout),
        Dense(64, activation="relu", kernel_initializer="he_normal"),
        Dropout(dropout),
        Dense(10, activation="softmax"),
    ], seed=seed)


def cifar10_cnn(input_shape=(32, 32, 3), num_classes: int = 10, dropout: float = 0.5,
                seed: int | None = None, filters: tuple[int, int] = (32, 64), units: int = 128,
                augmentation: tuple = ()) -> Sequential:
    """The seed ``CNN_Classifier`` for CIFAR-10 (trained with Adam, learning rate 5e-4).

    ``filters`` (of the first and the second pair of convolutions), ``units``
    (of the hidden Dense layer) and ``augmentation`` (layers put first) make
    the variants; the defaults are the seed's.
    """
    layers = [Input(input_shape, name="input"), *augmentation]
    narrow, wide = filters
    for i, (filters, stride) in enumerate([(narrow, 1), (narrow, 2), (wide, 1), (wide, 2)], start=1):
        layers += [
            Conv2D(filters, 3, strides=stride, padding="same", name=f"conv{i}"),
            BatchNormalization(name=f"bn{i}"),
            LeakyReLU(name=f"leaky_relu{i}"),
        ]
    layers += [
        Flatten(name="flatten"),
        Dense(units, name="dense1"),
        BatchNormalization(name="bn5"),
        LeakyReLU(name="leaky_relu5"),
        Dropout(dropout, name="dropout"),
        Dense(num_classes, name="dense2"),
        Activation("softmax", name="softmax"),
    ]
    return Sequential(layers, name="CNN_Classifier", seed=seed)


def cifar10_cnn_strong(input_shape=(32, 32, 3), num_classes: int = 10, seed: int | None = None) -> Sequential:
    """The seed ``CNN_Classifier`` with a wider hidden layer (Dense 256), regularised by
    augmentation (horizontal flips, shifts of up to 10%) instead of heavy dropout (0.2): the
    ``strong`` recipe of ``minicnn.train``, trained with AdamW and a cosine schedule."""
    return cifar10_cnn(input_shape, num_classes, dropout=0.2, seed=seed, units=256,
                       augmentation=(RandomFlip("horizontal", name="flip"),
                                     RandomTranslation(0.1, 0.1, name="shift")))


SEED_MODELS = {"mlp": mnist_mlp, "kconv": mnist_cnn, "cifar_cnn": cifar10_cnn}
