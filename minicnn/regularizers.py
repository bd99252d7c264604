"""Weight penalties: ``kernel_regularizer`` and ``bias_regularizer`` (Keras's).

A regularizer adds a penalty on a weight array w to the loss the optimizer
minimises, and its gradient to w's gradient::

    L1(l1):       penalty = l1 * sum |w|          d/dw = l1 * sign(w)
    L2(l2):       penalty = l2 * sum w^2          d/dw = 2 * l2 * w
    L1L2(l1, l2): both

Why: a penalty on large weights prefers a smoother function, which tends to
generalise better; L1 pushes weights to exactly zero (sparse), L2 shrinks
them all in proportion. With plain SGD, L2 is the same as weight decay; with
Adam it is not (the penalty's gradient is rescaled by Adam's moments), which
is why ``AdamW`` decays the weights separately (see ``minicnn.optimizers``).

As in Keras, the reported ``loss`` of ``fit`` and ``evaluate`` includes the
penalties of every regularized weight (``add_penalties``).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError


class Regularizer:
    """Base class: ``regularizer(w)`` is the penalty, ``gradient(w)`` its derivative."""

    def __call__(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError


def _factor(value, what: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{owner}: {what} must be a non-negative number, got {value!r}")
    return float(value)


class L1L2(Regularizer):
    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor(l1, "l1", type(self).__name__)
        self.l2 = _factor(l2, "l2", type(self).__name__)

    def __call__(self, w):
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.abs(w).sum(dtype=np.float64))
        if self.l2:
            penalty += self.l2 * float(np.square(w, dtype=np.float64).sum())
        return penalty

    def gradient(self, w):
        f = w.dtype.type
        g = np.zeros_like(w)
        if self.l1:
            g += f(self.l1) * np.sign(w)
        if self.l2:
            g += f(2 * self.l2) * w
        return g

    def get_config(self):
        return {"class_name": type(self).__name__, "l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self):
        return {"class_name": "L1", "l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self):
        return {"class_name": "L2", "l2": self.l2}


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier, owner: str = "regularizer") -> Regularizer | None:
    """None, a ``Regularizer``, a name (``"l2"``: Keras's default factor 0.01) or a saved config."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        settings = {k: v for k, v in identifier.items() if k != "class_name"}
        try:
            return _CLASSES[identifier["class_name"]](**settings)
        except TypeError as exc:
            raise ConfigError(f"{owner}: {exc}") from None
    raise ConfigError(f"{owner}: unknown regularizer {identifier!r}; expected None, 'l1', 'l2', 'l1_l2' or "
                      "a minicnn.regularizers.L1/L2/L1L2 instance")


def serialize(regularizer: Regularizer | None) -> dict | None:
    return None if regularizer is None else regularizer.get_config()


def add_penalties(weights) -> float:
    """The sum of every regularized weight's penalty; each trainable one's
    ``grad`` (already filled by ``backward``) gets the penalty's gradient added."""
    total = 0.0
    for p in weights:
        if p.regularizer is None:
            continue
        total += p.regularizer(p.value)
        if p.trainable and p.grad is not None:
            p.grad = p.grad + p.regularizer.gradient(p.value)
    return total


def penalty(weights) -> float:
    """The sum of every regularized weight's penalty (for ``evaluate``: no gradient)."""
    return sum(p.regularizer(p.value) for p in weights if p.regularizer is not None)
