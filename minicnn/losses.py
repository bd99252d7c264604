"""Cross-entropy losses, each with its value and its exact gradient.

All losses return the **mean over the batch** of a per-sample loss, and
``gradient`` returns dL/d(y_pred) of the same shape as ``y_pred`` (the 1/N of
the mean included). With ``sample_weight`` w (one number per sample, from
``fit(sample_weight=...)`` or ``class_weight``), the loss is
``sum_i w_i * l_i / N`` - Keras's reduction, which divides by N and not by
sum(w) - and each sample's gradient row is multiplied by w_i. Below, p is a row of probabilities, z a row of logits,
t a one-hot row (or the integer class k), eps = 1e-7, and
``clip(v) = min(max(v, eps), 1 - eps)``.

``from_logits=True`` (numerically stable, via log-sum-exp)::

    categorical:  L = logsumexp(z) - sum_j t_j z_j        dL/dz = softmax(z) * sum(t) - t
    binary:       L = mean_j [max(z,0) - z t + log(1 + e^-|z|)]
                                                          dL/dz = (sigmoid(z) - t) / K

``from_logits=False`` follows Keras exactly, including where it clips::

    categorical:  q = p / sum(p);  L = -sum_j t_j log clip(q_j)
    sparse:       c = clip(p);     L = -log c_k + log sum_j c_j
    binary:       c = clip(p);     L = -mean_j [t log c + (1 - t) log(1 - c)]

Clipping keeps log() finite for a probability of exactly 0 or 1; where it
clips, the gradient is 0 (as TensorFlow's ``clip_by_value``).

**Keras's logits shortcut.** When the model's last operation is a softmax
(or sigmoid) and the loss is given probabilities, Keras quietly computes the
loss from the logits instead - more accurate, and never stuck at the clip.
``Sequential`` does the same (see ``Loss.fused_activation`` and
``value_and_grad_from_logits``), so both engines train identically.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid, softmax
from .errors import ConfigError, ShapeError

EPSILON = 1e-7


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def _clip(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipped copy of p and the mask of entries the clip left alone."""
    lo, hi = p.dtype.type(EPSILON), p.dtype.type(1.0) - p.dtype.type(EPSILON)
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


def _weighted_mean(per_sample: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """mean_i(w_i * l_i): Keras's "sum over batch size" - divided by N, not by sum(w)."""
    if sample_weight is None:
        return float(per_sample.mean())
    return float((per_sample * sample_weight).sum() / len(per_sample))


def _weighted_rows(g: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    """Each sample's gradient row times its weight."""
    if sample_weight is None:
        return g
    return g * sample_weight.reshape((-1,) + (1,) * (g.ndim - 1)).astype(g.dtype, copy=False)


class Loss:
    """Base class: ``value(y_true, y_pred)`` and ``gradient(y_true, y_pred)``."""

    name = "loss"
    #: The activation whose logits Keras would use instead of the probabilities.
    fused_activation: str | None = None

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred) -> float:
        return self.value(y_true, y_pred)

    def value(self, y_true, y_pred, sample_weight=None) -> float:
        y_true, y_pred = self._check(y_true, y_pred)
        per_sample = self._logits_loss(y_true, y_pred) if self.from_logits \
            else self._prob_loss(y_true, y_pred)
        return _weighted_mean(per_sample, sample_weight)

    def gradient(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        y_true, y_pred = self._check(y_true, y_pred)
        g = self._logits_grad(y_true, y_pred) if self.from_logits \
            else self._prob_grad(y_true, y_pred)
        return _weighted_rows(g / y_pred.shape[0], sample_weight).astype(y_pred.dtype, copy=False)

    def value_and_grad_from_logits(self, y_true, logits, sample_weight=None) -> tuple[float, np.ndarray]:
        """Loss and dL/dlogits, for outputs produced by ``fused_activation``."""
        y_true, logits = self._check(y_true, logits)
        loss = _weighted_mean(self._logits_loss(y_true, logits), sample_weight)
        g = _weighted_rows(self._logits_grad(y_true, logits) / logits.shape[0], sample_weight)
        return loss, g.astype(logits.dtype, copy=False)

    def get_config(self) -> dict:
        return {"name": self.name, "from_logits": self.from_logits}

    # Subclasses: per-sample losses (shape (N,)) and un-averaged gradients.
    def _check(self, y_true, y_pred):
        raise NotImplementedError


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot (or soft) targets of shape (N, K)."""

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ShapeError(f"{self.name}: y_true and y_pred must both be (batch, classes); got "
                             f"y_true {y_true.shape}, y_pred {y_pred.shape}")
        return y_true, y_pred

    def _logits_loss(self, t, z):
        return _logsumexp(z) * t.sum(axis=-1) - (t * z).sum(axis=-1)

    def _logits_grad(self, t, z):
        return softmax(z) * t.sum(axis=-1, keepdims=True) - t

    def _prob_loss(self, t, p):
        q, _ = _clip(p / p.sum(axis=-1, keepdims=True))
        return -(t * np.log(q)).sum(axis=-1)

    def _prob_grad(self, t, p):
        s = p.sum(axis=-1, keepdims=True)
        q_clipped, kept = _clip(p / s)
        g_q = np.where(kept, -t / q_clipped, 0)            # dL/dq
        # q = p / s  =>  dL/dp_j = (g_j - sum_i g_i q_i) / s
        return (g_q - (g_q * (p / s)).sum(axis=-1, keepdims=True)) / s


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy with integer class labels of shape (N,) (or (N, 1))."""

    name = "sparse_categorical_crossentropy"

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true)
        if y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true[:, 0]
        if y_pred.ndim != 2 or y_true.shape != (y_pred.shape[0],):
            raise ShapeError(f"{self.name}: expected y_true of shape ({y_pred.shape[0] if y_pred.ndim else '?'},) "
                             f"with integer labels and y_pred (batch, classes); got y_true {y_true.shape}, "
                             f"y_pred {y_pred.shape}")
        if y_true.dtype.kind == "f":
            if not np.all(np.isfinite(y_true)) or np.any(y_true != np.round(y_true)):
                raise ShapeError(f"{self.name}: labels must be whole numbers, got {y_true[:5]}...")
        elif y_true.dtype.kind not in "iu":
            raise ShapeError(f"{self.name}: labels must be integers, got dtype {y_true.dtype}")
        labels = y_true.astype(np.int64)
        k = y_pred.shape[1]
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            bad = labels[(labels < 0) | (labels >= k)][0]
            raise ShapeError(f"{self.name}: label {bad} is out of range for {k} classes (0..{k - 1})")
        one_hot = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        one_hot[np.arange(labels.size), labels] = 1
        return one_hot, y_pred

    def _prob_loss(self, t, p):
        c, _ = _clip(p)
        return -(t * np.log(c)).sum(axis=-1) + np.log(c.sum(axis=-1))

    def _prob_grad(self, t, p):
        c, kept = _clip(p)
        return np.where(kept, -t / c + 1 / c.sum(axis=-1, keepdims=True), 0)


class BinaryCrossentropy(Loss):
    """Element-wise binary cross-entropy, averaged over the last axis."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_true.ndim == 1 and y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_true = y_true[:, None]
        if y_pred.ndim < 2 or y_true.shape != y_pred.shape:
            raise ShapeError(f"{self.name}: y_true and y_pred must have the same (batch, ...) shape; "
                             f"got y_true {y_true.shape}, y_pred {y_pred.shape}")
        return y_true, y_pred

    def _logits_loss(self, t, z):
        return (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)

    def _logits_grad(self, t, z):
        return (sigmoid(z) - t) / z.shape[-1]

    def _prob_loss(self, t, p):
        c, _ = _clip(p)
        return -(t * np.log(c) + (1 - t) * np.log(1 - c)).mean(axis=-1)

    def _prob_grad(self, t, p):
        c, kept = _clip(p)
        return np.where(kept, (-t / c + (1 - t) / (1 - c)) / p.shape[-1], 0)


_REGISTRY = {cls.name: cls for cls in (CategoricalCrossentropy, SparseCategoricalCrossentropy,
                                       BinaryCrossentropy)}


def from_config(config: dict) -> Loss:
    """The inverse of ``Loss.get_config``."""
    return get(config["name"]).__class__(from_logits=config.get("from_logits", False))


def get(identifier) -> Loss:
    """A loss object from a name (``"sparse_categorical_crossentropy"``) or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    try:
        return _REGISTRY[identifier]()
    except (KeyError, TypeError):
        raise ConfigError(f"unknown loss {identifier!r}; expected one of {sorted(_REGISTRY)} "
                          "or a minicnn.losses.Loss instance") from None
