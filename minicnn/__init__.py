"""minicnn: a from-scratch CNN engine in NumPy and Numba, with Keras conventions.

>>> import minicnn
>>> from minicnn.layers import Conv2D, MaxPool2D, Flatten, Dense
>>> model = minicnn.Sequential([
...     Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)),
...     MaxPool2D(), Flatten(), Dense(10, activation="softmax")])
>>> model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
"""

from . import _threads  # noqa: F401  (must run before any Numba kernel: see the module)
from . import _memory  # noqa: F401  (keeps freed memory for the next step: see the module)
from . import (activations, applications, callbacks, initializers, io, kernels, layers, losses, metrics, optimizers,
               regularizers, schedules, zoo)
from .config import floatx, get_backend, set_backend, set_floatx
from .errors import (ConfigError, DatasetError, InputError, MiniCNNError, ModelFileError,
                     NotBuiltError, NotCompiledError, ShapeError)
from .io import load_model
from .model.functional import Model
from .model.sequential import Sequential
from .model.trace import Trace
from .naming import clear_session
from .seeding import set_seed
from .threads import get_num_threads, set_num_threads

from .threads import _from_environment as _threads_from_environment  # noqa: E402

_threads_from_environment()

_LAZY = ("datasets", "viz", "keras", "fast", "bench", "filters", "kernels")


def __getattr__(name: str):
    """``minicnn.datasets``, ``minicnn.viz``, ``minicnn.keras``, ... without importing them by hand
    (``viz`` brings in matplotlib, so it is imported on first use)."""
    if name in _LAZY:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minicnn' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DatasetError", "ModelFileError", "load_model", "InputError", "MiniCNNError", "Model", "NotBuiltError", "NotCompiledError", "Sequential",
    "ShapeError", "Trace", "activations", "applications", "callbacks", "clear_session", "floatx", "get_backend",
    "initializers", "kernels", "layers", "losses", "optimizers", "set_backend", "set_floatx",
    "set_seed", "zoo", "metrics", "regularizers", "schedules", "__version__", "set_num_threads", "get_num_threads", "datasets", "viz", "keras",
]
