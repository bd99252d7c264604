"""``keras.models``: ``Sequential``, ``Model`` and ``load_model``."""

from ..io import load_model
from ..model.functional import Model
from ..model.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
