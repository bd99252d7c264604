"""Reading and writing models: ``save_model`` / ``load_model`` (no pickle), and
weights to and from Keras (``load_keras_weights`` / ``save_keras_weights``, h5py needed)."""

from .keras_weights import load_keras_weights, save_keras_weights
from .model_file import FORMAT_VERSION, load_model, save_model

__all__ = ["FORMAT_VERSION", "load_keras_weights", "load_model", "save_keras_weights", "save_model"]
