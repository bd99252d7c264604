"""``minicnn.keras``: Keras's module layout over minicnn's own objects.

Change ``from tensorflow.keras import ...`` to ``from minicnn.keras import ...``
and a Keras notebook runs on minicnn - then open any layer to see how it
works. Nothing here is a second implementation: every name is minicnn's
own class or function (``minicnn.keras.layers.Conv2D is minicnn.layers.Conv2D``),
and the modules only put them where Keras users look for them.

What is missing from Keras's API raises a ``ConfigError`` naming it, never a
silent fallback; ``docs/keras_conventions.md`` lists what is covered.
"""

from ..layers import Input
from ..model.functional import Model
from ..model.sequential import Sequential
from . import (applications, callbacks, datasets, layers, losses, metrics, models, optimizers, preprocessing,
               regularizers, utils)

__all__ = ["Input", "Model", "Sequential", "applications", "callbacks", "datasets", "layers", "losses", "metrics",
           "models", "optimizers", "preprocessing", "regularizers", "utils"]
