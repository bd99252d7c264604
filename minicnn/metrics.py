"""Metrics reported by ``fit`` and ``evaluate``: accumulated over an epoch, as Keras.

A metric sees every batch (``update``) and reports one number for all the
batches seen since ``reset`` (``result``) - not the mean of per-batch
values, which would weigh a short last batch like a full one.

``accuracy`` (``"acc"``): the fraction of samples whose prediction is right.
What "right" means follows the loss, as in Keras: the highest-scoring class
equals the label (sparse labels) or the one-hot's hot index (categorical);
for a binary loss, ``p > 0.5`` agrees with ``t > 0.5``, averaged over the
outputs of each sample.

``top_k_categorical_accuracy`` / ``sparse_top_k_categorical_accuracy``
(k = 5): the label is among the k highest scores. (A label tied with the
k-th score counts as among them.)

``precision`` and ``recall``: every output is a yes/no decision
``p > threshold`` (0.5) against ``t`` (one-hot or binary labels), counted
over all outputs of all samples::

    precision = TP / (TP + FP)      of the yes answers, how many were right
    recall    = TP / (TP + FN)      of the true yeses, how many were found

(0 when the denominator is 0, as Keras.)

Metrics ignore ``sample_weight`` and ``class_weight``: in Keras these weight
the loss, and only ``weighted_metrics`` (not provided here) see them.
"""

from __future__ import annotations

import numpy as np

from . import losses
from .errors import ConfigError


class Metric:
    """Base class: ``reset``, ``update(y_true, y_pred)``, ``result``."""

    name = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0.0

    def update(self, y_true, y_pred) -> None:
        hits = self.per_sample(np.asarray(y_true), np.asarray(y_pred))
        self.total += float(hits.sum())
        self.count += len(hits)

    def per_sample(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def get_config(self):
        """A name, or a dict when an argument differs from the default (saved in model files)."""
        return self.name


class Accuracy(Metric):
    """Keras's ``"accuracy"``, with the meaning the loss gives it (module docstring)."""

    name = "accuracy"

    def __init__(self, loss: losses.Loss) -> None:
        self.loss = loss
        super().__init__()

    def per_sample(self, y_true, y_pred):
        if isinstance(self.loss, losses.SparseCategoricalCrossentropy):
            return y_pred.argmax(axis=-1) == y_true.reshape(-1)
        if isinstance(self.loss, losses.CategoricalCrossentropy):
            return y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)
        y_true = y_true.reshape(y_pred.shape)
        return ((y_pred > 0.5) == (y_true > 0.5)).mean(axis=tuple(range(1, y_pred.ndim)))


def _in_top_k(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """True where the label's score is among the k highest of its row."""
    label_scores = scores[np.arange(len(scores)), labels]
    higher = (scores > label_scores[:, None]).sum(axis=-1)
    return higher < k


class SparseTopKCategoricalAccuracy(Metric):
    name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str | None = None) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"{type(self).__name__}: k must be a positive int, got {k!r}")
        self.k = int(k)
        self.name = name or type(self).name
        super().__init__()

    def per_sample(self, y_true, y_pred):
        return _in_top_k(y_pred, y_true.reshape(-1).astype(np.int64), self.k)

    def get_config(self):
        return self.name if self.k == 5 and self.name == type(self).name else \
            {"class_name": type(self).__name__, "k": self.k, "name": self.name}


class TopKCategoricalAccuracy(SparseTopKCategoricalAccuracy):
    name = "top_k_categorical_accuracy"

    def per_sample(self, y_true, y_pred):
        return _in_top_k(y_pred, y_true.argmax(axis=-1), self.k)


class Precision(Metric):
    name = "precision"

    def __init__(self, thresholds: float = 0.5, name: str | None = None) -> None:
        if isinstance(thresholds, bool) or not isinstance(thresholds, (int, float)) or not 0 <= thresholds <= 1:
            raise ConfigError(f"{type(self).__name__}: thresholds must be one number in [0, 1], got {thresholds!r}")
        self.thresholds = float(thresholds)
        self.name = name or type(self).name
        super().__init__()

    def reset(self):
        self.true_positives = self.false_positives = self.false_negatives = 0

    def update(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true).reshape(y_pred.shape) > 0.5
        said_yes = y_pred > self.thresholds
        self.true_positives += int((said_yes & y_true).sum())
        self.false_positives += int((said_yes & ~y_true).sum())
        self.false_negatives += int((~said_yes & y_true).sum())

    def result(self):
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    def get_config(self):
        return self.name if self.thresholds == 0.5 and self.name == type(self).name else \
            {"class_name": type(self).__name__, "thresholds": self.thresholds, "name": self.name}


class Recall(Precision):
    name = "recall"

    def result(self):
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 0.0


_BY_NAME = {"top_k_categorical_accuracy": TopKCategoricalAccuracy,
            "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
            "precision": Precision, "recall": Recall}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier, loss: losses.Loss, owner: str) -> Metric:
    """A metric from a name, a saved config or an instance; ``loss`` gives accuracy its meaning."""
    if isinstance(identifier, Metric):
        metric = identifier
    elif identifier in ("accuracy", "acc"):
        return Accuracy(loss)
    elif isinstance(identifier, str) and identifier in _BY_NAME:
        metric = _BY_NAME[identifier]()
    elif isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        try:
            metric = _CLASSES[identifier["class_name"]](**{k: v for k, v in identifier.items() if k != "class_name"})
        except TypeError as exc:
            raise ConfigError(f"{owner}: metric {identifier!r}: {exc}") from None
    else:
        raise ConfigError(f"{owner}: unknown metric {identifier!r}; supported: 'accuracy', "
                          f"{', '.join(repr(n) for n in _BY_NAME)} or a minicnn.metrics.Metric instance")
    if isinstance(metric, (Precision,)) and isinstance(loss, losses.SparseCategoricalCrossentropy):
        raise ConfigError(f"{owner}: {metric.name} compares each output with a one-hot or binary label; "
                          "with sparse (integer) labels use categorical_crossentropy and one-hot labels")
    if isinstance(metric, TopKCategoricalAccuracy) and isinstance(loss, losses.SparseCategoricalCrossentropy):
        raise ConfigError(f"{owner}: top_k_categorical_accuracy needs one-hot labels; with integer labels "
                          "use 'sparse_top_k_categorical_accuracy'")
    return metric
