"""Callbacks that change the learning rate between epochs (Keras's rules).

``LearningRateScheduler(schedule)``: before each epoch, the rate becomes
``schedule(epoch, current_rate)`` (or ``schedule(epoch)``); epochs count
from 0. For a rate that changes every step, give the optimizer a schedule
object instead (``minicnn.schedules``).

``ReduceLROnPlateau``: when ``monitor`` has not improved by more than
``min_delta`` for ``patience`` epochs, multiply the rate by ``factor``
(never below ``min_lr``), then wait ``cooldown`` epochs before counting
again. A plateau often means the steps are too large to go further down
a narrow valley; smaller steps let the loss drop again.

Both add ``learning_rate`` to the logs of every batch, so the epoch's logs
(and ``history``, which records them before the other callbacks run) hold
the rate the epoch used.
"""

from __future__ import annotations

import math

from .callbacks import Callback
from .errors import ConfigError


class _RecordsTheRate(Callback):
    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class LearningRateScheduler(_RecordsTheRate):
    def __init__(self, schedule, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise ConfigError(f"LearningRateScheduler: schedule must be a function of the epoch, got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        current = float(self.model.optimizer.learning_rate)
        try:
            rate = self.schedule(epoch, current)
        except TypeError:      # a schedule of the epoch alone, as Keras allows
            rate = self.schedule(epoch)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise ConfigError(f"LearningRateScheduler: the schedule returned {rate!r} for epoch {epoch}; "
                              "it must return a positive number")
        self.model.optimizer.learning_rate = float(rate)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(rate)}.")



class ReduceLROnPlateau(_RecordsTheRate):
    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        if not 0 < factor < 1:
            raise ConfigError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}")
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"ReduceLROnPlateau: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), int(patience), verbose
        self.min_delta, self.cooldown, self.min_lr = float(min_delta), int(cooldown), float(min_lr)
        # Keras's "auto": a monitor whose name contains "acc" should rise, anything else fall
        self.rising = mode == "max" or (mode == "auto" and "acc" in monitor)
        self._reset()

    def _reset(self) -> None:
        self.best = -math.inf if self.rising else math.inf
        self.wait = self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        return current > self.best + self.min_delta if self.rising else current < self.best - self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(self.model.optimizer.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0
