"""``keras.utils``: ``to_categorical``, ``set_random_seed`` and ``plot_model`` (as text)."""

from __future__ import annotations

import numpy as np

from ..datasets import to_one_hot
from ..seeding import set_seed


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """One-hot rows for integer labels of any shape (a trailing axis of 1 is dropped, as Keras)."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    flat = to_one_hot(y.reshape(-1), num_classes, dtype=dtype)
    return flat.reshape(y.shape + (flat.shape[-1],))


def set_random_seed(seed: int) -> None:
    """Seed minicnn's generators (initial weights, shuffling, dropout), as ``keras.utils.set_random_seed``."""
    set_seed(seed)


def plot_model(model, to_file: str | None = None, show_shapes: bool = True, **kwargs) -> str:
    """The model's layers as text, one per line with its output shape and inputs; written to
    ``to_file`` when given (a text drawing: minicnn does not depend on graphviz)."""
    lines = []
    for layer in model.layers:
        shape = f" -> {(None,) + tuple(layer.output_shape)}" if show_shapes and layer.output_shape else ""
        sources = getattr(model, "_source_names", None)
        inbound = ""
        if getattr(layer, "inbound", None):
            inbound = "  <- " + ", ".join(t.layer.name for t in layer.inbound)
        elif sources is not None and layer in model._layers:
            inbound = "  <- " + ", ".join(sources(layer))
        lines.append(f"{layer.name} ({type(layer).__name__}){shape}{inbound}")
    text = "\n".join(lines)
    if to_file:
        with open(to_file, "w") as f:
            f.write(text + "\n")
    return text
