"""``keras.optimizers`` (and ``keras.optimizers.legacy``, the same classes): SGD, Adam, RMSprop."""

from ...optimizers import SGD, Adam, Optimizer, RMSprop
from . import legacy

__all__ = ["SGD", "Adam", "Optimizer", "RMSprop", "legacy"]
