"""``keras.optimizers.legacy``: Keras 2's optimizer names; minicnn has one set of update rules."""

from ...optimizers import SGD, Adam, RMSprop

__all__ = ["SGD", "Adam", "RMSprop"]
