"""Callbacks: hooks into ``fit`` (Keras API), and ``History``.

A callback overrides any of the ``on_*`` methods; ``fit`` calls them with the
epoch or batch number and a ``logs`` dict (``loss``, ``accuracy``,
``val_loss``, ``val_accuracy``). Setting ``model.stop_training = True`` from
a callback ends ``fit`` after the current batch.
"""

from __future__ import annotations

from typing import Any


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
