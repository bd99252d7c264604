"""Optimizers with Keras's exact update rules.

Each optimizer keeps its per-parameter state (momentum, moving averages)
in dictionaries keyed by the parameter, never on the layer. ``apply(params)``
updates every trainable ``Parameter`` in place from its ``grad``; then
``iterations`` grows by one. With g the gradient, w the weight, lr the
learning rate:

SGD (``momentum=0``)::

    w <- w - lr * g

SGD with momentum m (velocity v, starts at 0)::

    v <- m * v - lr * g
    w <- w + v                      (plain)
    w <- w + m * v - lr * g         (nesterov=True)

Adam (t = step number starting at 1; first and second moments start at 0)::

    m_t = m + (1 - beta_1) * (g - m)
    v_t = v + (1 - beta_2) * (g^2 - v)
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    w <- w - alpha * m_t / (sqrt(v_t) + epsilon)

AdamW is Adam with ``weight_decay`` 0.004 by default.

Before the rule, in Keras 3's order (every optimizer takes these arguments):

1. **clipping** of the gradients: ``clipnorm`` (each array g rescaled so that
   ||g|| <= clipnorm), or ``global_clipnorm`` (all arrays rescaled together
   so that the norm of their concatenation <= global_clipnorm), or
   ``clipvalue`` (each element clipped to [-clipvalue, clipvalue]);
2. **decoupled weight decay** ``w <- w - lr * weight_decay * w`` (Loshchilov &
   Hutter's AdamW: the decay does not pass through Adam's moment scaling, so
   every weight shrinks at the same relative rate);
3. the update rule above.

``learning_rate`` is a number, a schedule (``minicnn.schedules``) or a
callable taking no argument; the rate of each step is read before it.

Note where epsilon sits: Keras folds the bias corrections into ``alpha`` and
adds epsilon to sqrt(v_t) *uncorrected* (the "epsilon hat" of the Adam paper,
section 2), not to sqrt(v_t / (1 - beta_2^t)) as many tutorials write.

RMSprop (rho = 0.9; velocity starts at 0)::

    v <- rho * v + (1 - rho) * g^2
    w <- w - lr * g / sqrt(v + epsilon)     (epsilon *inside* the square root)
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import schedules
from .errors import ConfigError
from .layers.base import Parameter


def _optional_positive(value, what: str, owner: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{owner}: {what} must be a non-negative number or None, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: state per parameter, ``apply`` updates in place."""

    name = "optimizer"

    def __init__(self, learning_rate, name: str | None = None, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None) -> None:
        # ``name``: Keras's optimizers take one (``SGD(..., name="SGD")``); kept for display only
        owner = type(self).__name__
        self.display_name = name or owner
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            self._learning_rate: float | Callable = learning_rate
        else:
            self._learning_rate = self._checked_rate(learning_rate)
        self.weight_decay = _optional_positive(weight_decay, "weight_decay", owner)
        self.clipnorm = _optional_positive(clipnorm, "clipnorm", owner)
        self.clipvalue = _optional_positive(clipvalue, "clipvalue", owner)
        self.global_clipnorm = _optional_positive(global_clipnorm, "global_clipnorm", owner)
        if self.clipnorm and self.global_clipnorm:
            raise ConfigError(f"{owner}: only one of clipnorm and global_clipnorm can be set (as in Keras)")
        self.iterations = 0
        self._state: dict[int, dict[str, np.ndarray]] = {}

    def _checked_rate(self, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                or not math.isfinite(value) or not value > 0:
            raise ConfigError(f"{type(self).__name__}: learning_rate must be a number > 0, a "
                              f"minicnn.schedules schedule or a callable, got {value!r}")
        return float(value)

    # ------------------------------------------------------------------ the learning rate
    @property
    def learning_rate(self) -> float:
        """The rate the coming step will use (a schedule is evaluated at ``iterations``)."""
        return self.current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        """Set a new constant rate (what ``ReduceLROnPlateau`` and ``LearningRateScheduler`` do)."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise ConfigError(f"{type(self).__name__}: its learning rate comes from a schedule "
                              f"({type(self._learning_rate).__name__}) and cannot be set (as in Keras)")
        self._learning_rate = self._checked_rate(value)

    def current_learning_rate(self) -> float:
        rate = self._learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            return float(rate(self.iterations))
        if callable(rate):
            return self._checked_rate(rate())
        return rate

    # ------------------------------------------------------------------ state
    def state_of(self, param: Parameter) -> dict[str, np.ndarray]:
        """The optimizer's state arrays for one parameter (created on first use)."""
        key = id(param)
        if key not in self._state:
            self._state[key] = {name: np.zeros_like(param.value) for name in self.slots}
        return self._state[key]

    slots: tuple[str, ...] = ()

    # ------------------------------------------------------------------ one step
    def clipped_gradients(self, params: list[Parameter]) -> list[tuple[Parameter, np.ndarray]]:
        """``(parameter, gradient)`` for every parameter to update, after clipping (step 1)."""
        pairs = [(p, p.grad.astype(p.value.dtype, copy=False)) for p in params
                 if p.trainable and p.grad is not None]
        if self.clipnorm:
            limit = self.clipnorm
            clipped = []
            for p, g in pairs:
                norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
                clipped.append((p, g if norm <= limit else (g * limit / norm).astype(g.dtype)))
            return clipped
        if self.global_clipnorm:
            norm = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for _, g in pairs))
            if norm <= self.global_clipnorm:
                return pairs
            scale = self.global_clipnorm / norm
            return [(p, (g * scale).astype(g.dtype)) for p, g in pairs]
        if self.clipvalue:
            v = self.clipvalue
            return [(p, np.clip(g, -v, v)) for p, g in pairs]
        return pairs

    def decay_weights(self, params: list[Parameter], learning_rate: float) -> None:
        """Decoupled weight decay (step 2): ``w <- w - lr * weight_decay * w``."""
        if not self.weight_decay:
            return
        for p in params:
            if p.trainable and p.grad is not None:
                p.value -= p.value * p.value.dtype.type(learning_rate * self.weight_decay)

    def apply(self, params: list[Parameter]) -> None:
        """One update of every trainable parameter from its ``grad``."""
        learning_rate = self.current_learning_rate()
        pairs = self.clipped_gradients(params)
        self.decay_weights(params, learning_rate)
        for p, g in pairs:
            self.update(p.value, g, self.state_of(p), learning_rate)
        self.iterations += 1

    def update(self, w: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], learning_rate: float) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        rate = self._learning_rate
        saved_rate = rate.get_config() if isinstance(rate, schedules.LearningRateSchedule) \
            else self.current_learning_rate()  # a callable cannot be saved: its current value is
        config = {"name": self.name, "learning_rate": saved_rate}
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config

    # ------------------------------------------------------------------ state (for model files)
    def get_state(self, params: list[Parameter]) -> list[np.ndarray]:
        """The step counter and every slot array of ``params``, as a flat list.

        Order: ``iterations`` (a 0-d int64 array), then for each parameter in
        order its slots in ``self.slots`` order (zeros for a parameter not yet
        updated). ``set_state`` is the inverse; together they let a resumed
        run take exactly the steps the uninterrupted one would have taken.
        """
        state = [np.array(self.iterations, dtype=np.int64)]
        for p in params:
            state += [self.state_of(p)[slot] for slot in self.slots]
        return state

    def set_state(self, params: list[Parameter], state: list[np.ndarray]) -> None:
        """Restore what ``get_state`` returned (shapes are checked)."""
        expected = 1 + len(params) * len(self.slots)
        if len(state) != expected:
            raise ConfigError(f"{type(self).__name__}: the saved state has {len(state)} arrays, "
                              f"this optimizer needs {expected} for {len(params)} parameters")
        self.iterations = int(state[0])
        i = 1
        for p in params:
            slots = self.state_of(p)
            for slot in self.slots:
                if state[i].shape != p.value.shape:
                    raise ConfigError(f"{type(self).__name__}: saved slot {slot!r} of {p.name!r} has "
                                      f"shape {state[i].shape}, expected {p.value.shape}")
                slots[slot][...] = state[i]
                i += 1


class SGD(Optimizer):
    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 name: str | None = None, **common) -> None:
        super().__init__(learning_rate, name, **common)
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"SGD: momentum must be in [0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.slots = ("velocity",) if self.momentum > 0 else ()

    def update(self, w, g, state, learning_rate):
        lr = w.dtype.type(learning_rate)
        if self.momentum == 0:
            w -= lr * g
            return
        m = w.dtype.type(self.momentum)
        v = state["velocity"]
        v[...] = m * v - lr * g
        if self.nesterov:
            w += m * v - lr * g
        else:
            w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    name = "adam"
    slots = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str | None = None, **common) -> None:
        super().__init__(learning_rate, name, **common)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def update(self, w, g, state, learning_rate):
        f = w.dtype.type
        b1, b2 = f(self.beta_1), f(self.beta_2)
        alpha = self.step_size(f, learning_rate)
        m, v = state["m"], state["v"]
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        w -= m * alpha / (np.sqrt(v) + f(self.epsilon))

    def step_size(self, f, learning_rate: float) -> np.floating:
        """alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) for the coming step t, in dtype ``f``."""
        t = self.iterations + 1
        b1, b2 = f(self.beta_1), f(self.beta_2)
        return f(learning_rate) * np.sqrt(1 - b2 ** f(t)) / (1 - b1 ** f(t))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    name = "rmsprop"
    slots = ("velocity",)

    def __init__(self, learning_rate=0.001, rho: float = 0.9, epsilon: float = 1e-7,
                 name: str | None = None, **common) -> None:
        super().__init__(learning_rate, name, **common)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def update(self, w, g, state, learning_rate):
        f = w.dtype.type
        rho = f(self.rho)
        v = state["velocity"]
        v[...] = rho * v + (1 - rho) * (g * g)
        w -= f(learning_rate) * g / np.sqrt(v + f(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay`` 0.004 by default, as Keras)."""

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, name: str | None = None, **common) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, weight_decay=weight_decay, **common)


_REGISTRY = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def from_config(config: dict) -> Optimizer:
    """The inverse of ``Optimizer.get_config``."""
    settings = dict(config)
    name = settings.pop("name", None)
    if name not in _REGISTRY:
        raise ConfigError(f"unknown optimizer {name!r}; expected one of {sorted(_REGISTRY)}")
    if isinstance(settings.get("learning_rate"), dict):
        settings["learning_rate"] = schedules.from_config(settings["learning_rate"])
    try:
        return _REGISTRY[name](**settings)
    except TypeError as exc:
        raise ConfigError(f"optimizer {name!r}: {exc}") from None


def get(identifier) -> Optimizer:
    """An optimizer from a name (``"adam"``) with Keras defaults, or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    try:
        return _REGISTRY[str(identifier).lower()]()
    except KeyError:
        raise ConfigError(f"unknown optimizer {identifier!r}; expected one of {sorted(_REGISTRY)} "
                          "or a minicnn.optimizers.Optimizer instance") from None
