"""``keras.losses``: the cross-entropies, as classes and as Keras's function names."""

from ..losses import BinaryCrossentropy, CategoricalCrossentropy, Loss, SparseCategoricalCrossentropy


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False):
    """Mean loss over the batch (minicnn's losses reduce to the batch mean, as Keras's ``fit`` reports)."""
    return SparseCategoricalCrossentropy(from_logits=from_logits).value(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False):
    return CategoricalCrossentropy(from_logits=from_logits).value(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False):
    return BinaryCrossentropy(from_logits=from_logits).value(y_true, y_pred)


__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Loss", "SparseCategoricalCrossentropy",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
