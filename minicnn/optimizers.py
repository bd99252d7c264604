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

Note where epsilon sits: Keras folds the bias corrections into ``alpha`` and
adds epsilon to sqrt(v_t) *uncorrected* (the "epsilon hat" of the Adam paper,
section 2), not to sqrt(v_t / (1 - beta_2^t)) as many tutorials write.

RMSprop (rho = 0.9; velocity starts at 0)::

    v <- rho * v + (1 - rho) * g^2
    w <- w - lr * g / sqrt(v + epsilon)     (epsilon *inside* the square root)
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError
from .layers.base import Parameter


class Optimizer:
    """Base class: state per parameter, ``apply`` updates in place."""

    name = "optimizer"

    def __init__(self, learning_rate: float, name: str | None = None) -> None:
        # ``name``: Keras's optimizers take one (``SGD(..., name="SGD")``); kept for display only
        self.display_name = name or type(self).__name__
        if not learning_rate > 0:
            raise ConfigError(f"{type(self).__name__}: learning_rate must be > 0, got {learning_rate}")
        self.learning_rate = float(learning_rate)
        self.iterations = 0
        self._state: dict[int, dict[str, np.ndarray]] = {}

    def state_of(self, param: Parameter) -> dict[str, np.ndarray]:
        """The optimizer's state arrays for one parameter (created on first use)."""
        key = id(param)
        if key not in self._state:
            self._state[key] = {name: np.zeros_like(param.value) for name in self.slots}
        return self._state[key]

    slots: tuple[str, ...] = ()

    def apply(self, params: list[Parameter]) -> None:
        """One update of every trainable parameter from its ``grad``."""
        for p in params:
            if p.trainable and p.grad is not None:
                self.update(p.value, p.grad.astype(p.value.dtype, copy=False), self.state_of(p))
        self.iterations += 1

    def update(self, w: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.learning_rate}

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

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, name: str | None = None) -> None:
        super().__init__(learning_rate, name)
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"SGD: momentum must be in [0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.slots = ("velocity",) if self.momentum > 0 else ()

    def update(self, w, g, state):
        lr = w.dtype.type(self.learning_rate)
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

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str | None = None) -> None:
        super().__init__(learning_rate, name)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def update(self, w, g, state):
        f = w.dtype.type
        b1, b2 = f(self.beta_1), f(self.beta_2)
        alpha = self.step_size(f)
        m, v = state["m"], state["v"]
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        w -= m * alpha / (np.sqrt(v) + f(self.epsilon))

    def step_size(self, f) -> np.floating:
        """alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) for the coming step t, in dtype ``f``."""
        t = self.iterations + 1
        b1, b2 = f(self.beta_1), f(self.beta_2)
        return f(self.learning_rate) * np.sqrt(1 - b2 ** f(t)) / (1 - b1 ** f(t))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    name = "rmsprop"
    slots = ("velocity",)

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9,
                 epsilon: float = 1e-7, name: str | None = None) -> None:
        super().__init__(learning_rate, name)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def update(self, w, g, state):
        f = w.dtype.type
        rho = f(self.rho)
        v = state["velocity"]
        v[...] = rho * v + (1 - rho) * (g * g)
        w -= f(self.learning_rate) * g / np.sqrt(v + f(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


_REGISTRY = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def from_config(config: dict) -> Optimizer:
    """The inverse of ``Optimizer.get_config``."""
    settings = dict(config)
    name = settings.pop("name")
    if name not in _REGISTRY:
        raise ConfigError(f"unknown optimizer {name!r}; expected one of {sorted(_REGISTRY)}")
    return _REGISTRY[name](**settings)


def get(identifier) -> Optimizer:
    """An optimizer from a name (``"adam"``) with Keras defaults, or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    try:
        return _REGISTRY[str(identifier).lower()]()
    except KeyError:
        raise ConfigError(f"unknown optimizer {identifier!r}; expected one of {sorted(_REGISTRY)} "
                          "or a minicnn.optimizers.Optimizer instance") from None
