"""Reading and writing models: ``save_model`` / ``load_model`` (no pickle)."""

from .model_file import FORMAT_VERSION, load_model, save_model

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]
