"""``keras.optimizers`` (and ``keras.optimizers.legacy``, the same classes): SGD, Adam, AdamW, RMSprop,
and ``keras.optimizers.schedules``."""

from ...optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from . import legacy, schedules

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "legacy", "schedules"]
