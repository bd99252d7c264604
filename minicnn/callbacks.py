"""Callbacks: hooks into ``fit`` (Keras API), and ``History``.

A callback overrides any of the ``on_*`` methods; ``fit`` calls them with the
epoch or batch number and a ``logs`` dict (``loss``, ``accuracy``,
``val_loss``, ``val_accuracy``). Setting ``model.stop_training = True`` from
a callback ends ``fit`` after the current batch.

Provided: ``History`` (always on), ``ModelCheckpoint``, ``EarlyStopping``,
``CSVLogger``, ``TerminateOnNaN``, ``LearningRateScheduler`` and
``ReduceLROnPlateau``, with Keras's arguments and rules.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError


class Callback:
    def __init__(self) -> None:
        self.model: Any = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...


class History(Callback):
    """Records the epoch logs: ``history.history["val_loss"][epoch]``."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def _monitor_improves(monitor: str, mode: str, owner: str):
    """``better(current, best)`` for ``mode`` ``"min"``, ``"max"`` or ``"auto"``
    (auto: accuracy goes up, everything else - losses - goes down)."""
    if mode not in ("auto", "min", "max"):
        raise ConfigError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if monitor.removeprefix("val_") in ("accuracy", "acc") else "min"
    return mode, (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)


class ModelCheckpoint(Callback):
    """Save the model (weights, optimizer state, training state) after each epoch.

    ``filepath`` may hold Keras-style fields, filled from the epoch number
    (counted from 1) and the epoch's logs: ``"ckpt-{epoch:02d}-{val_loss:.3f}.minicnn"``.
    With ``save_best_only``, a file is written only when ``monitor`` improved.
    Every write is atomic (``minicnn.io.atomic``): a run killed while saving
    leaves the previous checkpoint intact. An epoch cut short by
    ``stop_training`` is not saved, so that a checkpoint always marks the end
    of a whole epoch and ``fit(initial_epoch=model.completed_epochs)`` resumes
    it exactly.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, mode: str = "auto") -> None:
        super().__init__()
        self.filepath = str(filepath)
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.mode, self._better = _monitor_improves(monitor, mode, "ModelCheckpoint")
        self.best: float | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.model.completed_epochs != epoch + 1:
            return  # a partial epoch (see the class docstring)
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"ModelCheckpoint: cannot fill {self.filepath!r} from epoch and "
                              f"logs {sorted(logs)} ({exc!r})") from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                print(f"ModelCheckpoint: {self.monitor!r} is not in the logs {sorted(logs)}; "
                      "nothing saved (pass validation data, or monitor='loss')", file=sys.stderr)
                return
            if self.best is not None and not self._better(current, self.best):
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = float(current)
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        self.model.save(path)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras rules).

    An improvement must beat the best value by more than ``min_delta``.
    ``baseline``: the patience count restarts only on values better than it.
    ``restore_best_weights``: at the end of training, put back the weights of
    the best epoch. Epochs before ``start_from_epoch`` are ignored.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        if patience < 0:
            raise ConfigError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.min_delta, self.baseline = abs(float(min_delta)), baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.mode, better = _monitor_improves(monitor, mode, "EarlyStopping")
        # "better by more than min_delta": shift the candidate against its direction
        shift = -self.min_delta if self.mode == "max" else self.min_delta
        self._improves = lambda current, reference: reference is None or better(current + shift, reference)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best: float | None = None
        self.best_weights: list | None = None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = [w.copy() for w in self.model.get_weights()], epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = float(current), epoch
            if self.restore_best_weights:
                self.best_weights = [w.copy() for w in self.model.get_weights()]
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: ``epoch`` (from 0, as Keras) and the logs.

    With ``append=True`` an existing file is continued (no second header),
    which is what a resumed run wants. Each row is flushed at once, so a
    killed run keeps every finished epoch.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.separator, self.append = Path(filename), separator, append
        self._file = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        header_needed = not (self.append and self.filename.exists() and self.filename.stat().st_size)
        self.filename.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator)
        self._header_needed = header_needed
        self._keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            if self._header_needed:
                self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch] + [logs.get(k, "NA") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training, without an exception, when a NaN or Inf appears.

    Without this callback ``fit`` raises :class:`~minicnn.errors.NonFiniteError`.
    With it, ``fit`` prints the same diagnosis (the first layer, forward or
    backward, that produced a non-finite value), keeps it in ``self.error``
    (its ``.trace`` holds the step's tensors), and returns. The failing step
    is never applied, so the weights stay those of the last finite step.
    """

    def __init__(self) -> None:
        super().__init__()
        self.error = None

    def on_nonfinite(self, error) -> None:
        self.error = error
        print(f"\n{error}\nTerminating training.", file=sys.stderr)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True


# ---------------------------------------------------------------------------- the learning rate
# Callbacks that change the learning rate between epochs (Keras's rules).
#
# ``LearningRateScheduler(schedule)``: before each epoch, the rate becomes
# ``schedule(epoch, current_rate)`` (or ``schedule(epoch)``); epochs count
# from 0. For a rate that changes every step, give the optimizer a schedule
# object instead (``minicnn.schedules``).
#
# ``ReduceLROnPlateau``: when ``monitor`` has not improved by more than
# ``min_delta`` for ``patience`` epochs, multiply the rate by ``factor``
# (never below ``min_lr``), then wait ``cooldown`` epochs before counting
# again. A plateau often means the steps are too large to go further down
# a narrow valley; smaller steps let the loss drop again.
#
# Both add ``learning_rate`` to the logs of every batch, so the epoch's logs
# (and ``history``, which records them before the other callbacks run) hold
# the rate the epoch used.


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
