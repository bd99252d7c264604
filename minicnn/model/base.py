"""What every minicnn model has, whatever the shape of its graph.

``Sequential`` (a chain) and ``Model`` (a graph, the functional API) differ
only in how they order their layers and route tensors between them. Both keep
``self._layers``, the layers that compute (no ``InputLayer``), in an order
where every layer comes after the layers it reads from and the output layer
is last; both implement ``forward(x, training)``, returning the outputs of
``self._layers`` in that order, and ``backward(...)``. On top of those, this
class gives them the same weights API, ``trace`` and ``save``.
"""

from __future__ import annotations

import numpy as np

from .. import seeding
from ..errors import ConfigError, InputError, NotBuiltError, ShapeError
from ..layers.base import Layer, Parameter
from . import validation
from .trace import Trace
from .training import TrainingMixin


class BaseModel(TrainingMixin):
    """Weights, ``trace``, ``save`` and the random generator, shared by all models."""

    _layers: list[Layer]
    name: str
    built: bool

    def __init__(self, name: str, seed: int | None) -> None:
        super().__init__()
        self.name = name
        self.seed = seed
        self._own_rng = np.random.default_rng(seed) if seed is not None else None

    # ------------------------------------------------------------------ structure
    @property
    def rng(self) -> np.random.Generator:
        """This model's generator (initial weights, shuffling, dropout masks)."""
        return self._own_rng if self._own_rng is not None else seeding.global_rng()

    @rng.setter
    def rng(self, generator: np.random.Generator) -> None:
        """Give the model its own generator (a loaded checkpoint continues its saved one)."""
        self._own_rng = generator

    @property
    def dtype(self) -> np.dtype:
        return self._layers[0].dtype if self._layers else np.dtype("float32")

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer of ``model.layers`` by name or by position."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"model {self.name!r} has no layer {name!r}; layers: "
                          f"{[layer.name for layer in self.layers]}")

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Parameter]:
        return [p for layer in self._layers for p in layer.weights]

    @property
    def trainable_weights(self) -> list[Parameter]:
        return [p for layer in self._layers for p in layer.trainable_weights]

    @property
    def trainable(self) -> bool:
        """False when every layer is frozen; setting it freezes or unfreezes them all (as in Keras)."""
        return any(layer.trainable for layer in self._layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self._layers:
            layer.trainable = value

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        """BatchNorm's moving statistics and any frozen weights."""
        return [p for layer in self._layers for p in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Every weight array, layer by layer, in Keras's order."""
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """The inverse of ``get_weights`` (e.g. a Keras model's ``get_weights()``)."""
        if not self.built:
            raise NotBuiltError(f"model {self.name!r} must be built before set_weights")
        if not isinstance(weights, (list, tuple)):
            raise InputError(f"model {self.name!r}: set_weights expects a list of arrays (as get_weights "
                             f"returns), got {type(weights).__name__}")
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            raise ShapeError(f"model {self.name!r} has {expected} weight arrays, got {len(weights)}")
        i = 0
        for layer in self._layers:
            n = len(layer.weights)
            layer.set_weights(list(weights[i:i + n]))
            i += n

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._layers)

    # ------------------------------------------------------------------ looking inside
    def trace(self, x: np.ndarray, y=None, training: bool = False) -> Trace:
        """One forward pass (and, with ``y``, the loss and one backward pass).

        Nothing is updated: not the weights, not BatchNorm's moving
        statistics. Returns a :class:`~minicnn.model.trace.Trace`.
        """
        x = validation.check_x(self, x)
        self._ensure_built(x)
        saved = [p.value.copy() for layer in self._layers for p in layer.non_trainable_weights]
        try:
            result = Trace()
            result.outputs["input"] = x
            outputs = self.forward(x, training=training)
            for layer, out in zip(self._layers, outputs):
                result.outputs[layer.name] = out
            if y is not None:
                self._require_compiled()
                y = validation.check_y(self, x, y)
                logits = getattr(self._layers[-1], "preactivation", None)
                result.loss, dy_pred, dlogits = self._loss_and_gradient(y, outputs[-1], logits)
                # With the logits shortcut, backprop starts below the last activation;
                # dL/dy_pred is still reported (probability form of the same loss).
                grads = {self._layers[-1].name: self.loss.gradient(y, outputs[-1])
                         if dy_pred is None else dy_pred}
                dx = self.backward(dy_pred, dlogits, record=grads.__setitem__)
                result.grads = {"input": dx, **{l.name: grads[l.name] for l in self._layers}}
                for layer in self._layers:
                    result.weight_grads[layer.name] = [p.grad.copy() for p in layer.trainable_weights]
            return result
        finally:
            i = 0
            for layer in self._layers:
                for p in layer.non_trainable_weights:
                    p.value[...] = saved[i]
                    i += 1

    #: ``save_model(model, path, include_compile, include_optimizer)``, set by
    #: ``minicnn.io.model_file`` when minicnn is imported (io imports model, not the reverse).
    file_writer = None

    def save(self, path, include_compile: bool = True, include_optimizer: bool = True):
        """Write the architecture, the weights, the compile settings, the
        optimizer state and the training state to ``path`` (atomic, no pickle:
        see ``minicnn.io.model_file``)."""
        return self.file_writer(self, path, include_compile, include_optimizer)
