"""Learning-rate schedules: the learning rate as a function of the step.

An optimizer given a schedule as its ``learning_rate`` asks it, before every
update, for the rate of the coming step: ``lr = schedule(step)``, where
``step`` = ``optimizer.iterations``, the number of updates done so far (0 for
the first). The formulas are Keras's (``keras.optimizers.schedules``), so a
model trained here and one trained in Keras see the same rates.

ExponentialDecay::

    lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)
    (staircase=True: the exponent is floor(step / decay_steps), a drop every decay_steps)

PiecewiseConstantDecay (boundaries b_0 < b_1 < ..., values v_0, v_1, ... one more)::

    lr(step) = v_0 for step <= b_0,  v_1 for b_0 < step <= b_1,  ...,  v_last after the last

CosineDecay (optionally after a linear warmup of ``warmup_steps``)::

    warmup:  lr(step) = initial + (warmup_target - initial) * step / warmup_steps
    then, with s = min(step - warmup_steps, decay_steps) and top = warmup_target or initial:
             lr(step) = top * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)

Why schedules: a large rate early moves fast across the loss surface; a small
one late lets the weights settle into a minimum instead of bouncing around it.
Warmup keeps the first steps, taken with badly estimated Adam moments or
BatchNorm statistics, from throwing the weights far away.
"""

from __future__ import annotations

import math

from .errors import ConfigError


class LearningRateSchedule:
    """Base class: ``schedule(step) -> learning rate`` (a Python float)."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError


def _positive(value, what: str, owner: str, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{owner}: {what} must be a {'non-negative' if allow_zero else 'positive'} "
                          f"number, got {value!r}")
    return float(value)


class ExponentialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate", name)
        self.decay_steps = _positive(decay_steps, "decay_steps", name)
        self.decay_rate = _positive(decay_rate, "decay_rate", name)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate ** exponent

    def get_config(self):
        return {"class_name": "ExponentialDecay", "initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate, "staircase": self.staircase}


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries: list[int], values: list[float], name: str = "PiecewiseConstant") -> None:
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)) \
                or len(values) != len(boundaries) + 1:
            raise ConfigError(f"{name}: values must be a list one longer than boundaries, got "
                              f"boundaries={boundaries!r}, values={values!r}")
        self.boundaries = [float(b) for b in boundaries]
        if any(b1 <= b0 for b0, b1 in zip(self.boundaries, self.boundaries[1:])):
            raise ConfigError(f"{name}: boundaries must increase, got {boundaries!r}")
        self.values = [_positive(v, "each value", name) for v in values]
        self.name = name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"class_name": "PiecewiseConstantDecay", "boundaries": self.boundaries, "values": self.values}


class CosineDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate", name,
                                               allow_zero=warmup_target is not None)
        self.decay_steps = _positive(decay_steps, "decay_steps", name)
        self.alpha = _positive(alpha, "alpha", name, allow_zero=True)
        self.warmup_target = None if warmup_target is None else _positive(warmup_target, "warmup_target", name)
        self.warmup_steps = _positive(warmup_steps, "warmup_steps", name, allow_zero=True)
        self.name = name

    def __call__(self, step):
        if self.warmup_target is not None and step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) * fraction
        top = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        s = min(step - self.warmup_steps, self.decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * s / self.decay_steps))
        return top * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"class_name": "CosineDecay", "initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay)}


def from_config(config: dict) -> LearningRateSchedule:
    """The inverse of ``get_config`` (a schedule saved in a model file)."""
    if not isinstance(config, dict) or config.get("class_name") not in _CLASSES:
        raise ConfigError(f"unknown learning-rate schedule {config!r}; expected one of {sorted(_CLASSES)}")
    settings = {k: v for k, v in config.items() if k != "class_name"}
    try:
        return _CLASSES[config["class_name"]](**settings)
    except TypeError as exc:
        raise ConfigError(f"learning-rate schedule {config['class_name']}: {exc}") from None
