"""``keras.metrics``: accuracy as functions, and the metric classes ``compile(metrics=[...])`` takes."""

import numpy as np

from ..metrics import Metric, Precision, Recall, SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where the highest-scoring class is the label, per sample."""
    return (np.asarray(y_pred).argmax(axis=-1) == np.asarray(y_true).reshape(-1)).astype(np.float32)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    return (np.asarray(y_pred).argmax(axis=-1) == np.asarray(y_true).argmax(axis=-1)).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    y_true = np.asarray(y_true).reshape(np.shape(y_pred))
    return ((np.asarray(y_pred) > threshold) == (y_true > threshold)).astype(np.float32).mean(axis=-1)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    return TopKCategoricalAccuracy(k).per_sample(np.asarray(y_true), np.asarray(y_pred)).astype(np.float32)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    return SparseTopKCategoricalAccuracy(k).per_sample(np.asarray(y_true), np.asarray(y_pred)).astype(np.float32)


__all__ = ["Metric", "Precision", "Recall", "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy",
           "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy"]
