"""``Sequential``: a stack of layers, each feeding the next.

The forward pass runs the layers first to last; the backward pass runs them
last to first, handing each one dL/d(its output) and getting back
dL/d(its input)::

    x -> L1 -> L2 -> ... -> Lk -> y_pred -> loss
    dx <- L1 <- L2 <- ... <- Lk <- dL/dy_pred

Training (``compile``, ``fit``, ``evaluate``, ``predict``, ``train_on_batch``)
is in ``minicnn.model.training``; this module holds the structure, the
weights, ``summary`` and ``trace``.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from .. import seeding
from ..errors import ConfigError, NotBuiltError, ShapeError
from ..layers.base import Layer, Parameter
from ..layers.input_layer import InputLayer
from ..naming import unique_name
from . import validation
from .summary import format_summary, print_summary
from .trace import Trace
from .training import TrainingMixin


class Sequential(TrainingMixin):
    """A linear stack of layers (Keras ``Sequential``).

    Parameters
    ----------
    layers : list of Layer, optional
        The layers, first to last. An ``Input(shape)`` first (or
        ``input_shape=`` on the first layer) builds the model at once.
    name : str, optional
        Defaults to ``sequential``, ``sequential_1``, ...
    seed : int, optional
        Seeds this model's own generator (initial weights, shuffling,
        dropout masks). Without it, the global one (``minicnn.set_seed``).
    """

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None,
                 seed: int | None = None) -> None:
        super().__init__()
        self.name = name or unique_name("sequential")
        self.seed = seed
        self._own_rng = np.random.default_rng(seed) if seed is not None else None
        self._layers: list[Layer] = []
        self.input_layer: InputLayer | None = None
        self.input_shape: tuple[int, ...] | None = None
        self.built = False
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def rng(self) -> np.random.Generator:
        return self._own_rng if self._own_rng is not None else seeding.global_rng()

    @rng.setter
    def rng(self, generator: np.random.Generator) -> None:
        """Give the model its own generator (a loaded checkpoint continues its saved one)."""
        self._own_rng = generator

    @property
    def layers(self) -> list[Layer]:
        """The layers (the ``Input`` declaration is not counted, as in Keras)."""
        return list(self._layers)

    @property
    def dtype(self) -> np.dtype:
        return self._layers[0].dtype if self._layers else np.dtype("float32")

    def add(self, layer: Layer) -> None:
        """Append a layer; builds it at once when the input shape is known."""
        if isinstance(layer, InputLayer):
            if self._layers or self.input_layer is not None:
                raise ConfigError(f"model {self.name!r}: Input must be the first and only input, "
                                  f"got {layer.name!r} after other layers")
            self.input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise ConfigError(f"model {self.name!r}: add() expects a minicnn Layer, got {type(layer).__name__}")
        if any(existing.name == layer.name for existing in self._layers):
            raise ConfigError(f"model {self.name!r}: a layer named {layer.name!r} already exists; "
                              "layer names must be unique")
        self._layers.append(layer)
        if self.built:
            layer.build(self._layers[-2].output_shape if len(self._layers) > 1 else self.input_shape,
                        self.rng)
        elif len(self._layers) == 1:
            declared = self.input_layer.shape if self.input_layer else layer.declared_input_shape
            if declared is not None:
                self.build(declared)

    def build(self, input_shape: Iterable[int | None]) -> None:
        """Build every layer for samples of ``input_shape`` (a leading ``None`` is the batch)."""
        shape = tuple(input_shape)
        if shape and shape[0] is None:
            shape = shape[1:]
        if not shape or any(d is None or int(d) <= 0 for d in shape):
            raise ShapeError(f"model {self.name!r}: input shape must be positive sizes, got {input_shape!r}")
        shape = tuple(int(d) for d in shape)
        self.input_shape = shape
        for layer in self._layers:
            if not layer.built or layer.input_shape != shape:
                layer.build(shape, self.rng)
            shape = layer.output_shape
        self.built = bool(self._layers)

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self._layers:
            raise NotBuiltError(f"model {self.name!r} has no layers")
        if not self.built:
            self.build(x.shape[1:])

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position."""
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"model {self.name!r} has no layer {name!r}; layers: "
                          f"{[layer.name for layer in self._layers]}")

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        if not self.built:
            raise NotBuiltError(f"model {self.name!r} is not built yet")
        return (None,) + self._layers[-1].output_shape

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Parameter]:
        return [p for layer in self._layers for p in layer.weights]

    @property
    def trainable_weights(self) -> list[Parameter]:
        return [p for layer in self._layers for p in layer.trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Every weight array, layer by layer, in Keras's order."""
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """The inverse of ``get_weights`` (e.g. a Keras model's ``get_weights()``)."""
        if not self.built:
            raise NotBuiltError(f"model {self.name!r} must be built before set_weights")
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

    # ------------------------------------------------------------------ passes
    def forward(self, x: np.ndarray, training: bool = False) -> list[np.ndarray]:
        """Run every layer; return the list of layer outputs (last = prediction)."""
        outputs = []
        for layer in self._layers:
            x = layer.apply(x, training=training)
            outputs.append(x)
        return outputs

    def backward(self, dy_pred: np.ndarray | None, dlogits: np.ndarray | None = None,
                 record: Callable[[str, np.ndarray], None] | None = None,
                 input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate from dL/d(prediction) - or from dL/d(logits) when the
        loss used the last layer's logits - and return dL/d(input).

        ``input_grad=False`` (what training uses) stops at the first layer with
        weights: the layers before it have nothing to learn, and its own
        dL/d(input) would only reach the data. Returns None then.
        """
        layers = self._layers
        first = 0
        if not input_grad:
            first = next((i for i, layer in enumerate(layers) if layer.trainable_weights), 0)
            layers[first].needs_input_grad = False
        try:
            last = layers[-1]
            grad = last.backward_preactivation(dlogits) if dlogits is not None else last.backward(dy_pred)
            for layer in reversed(layers[first:-1]):
                if record is not None:
                    record(layer.name, grad)
                grad = layer.backward(grad)
        finally:
            layers[first].needs_input_grad = True
        return grad if input_grad else None

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
                result.loss, dy_pred, dlogits = self._loss_and_gradient(y, outputs[-1])
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

    def save(self, path, include_compile: bool = True, include_optimizer: bool = True):
        """Write the architecture, the weights, the compile settings, the
        optimizer state and the training state to ``path`` (atomic, no pickle:
        see ``minicnn.io.model_file``)."""
        from ..io.model_file import save_model
        return save_model(self, path, include_compile, include_optimizer)

    def summary(self, print_fn: Callable[[str], None] | None = None) -> None:
        """Print the Keras-style table of layers, output shapes and parameter counts."""
        if not self.built:
            raise NotBuiltError(f"model {self.name!r} is not built yet: give the first layer "
                                "input_shape=..., start with Input(shape), call build(), or fit it")
        rows = [(f"{layer.name} ({type(layer).__name__})", str((None,) + layer.output_shape),
                 layer.count_params()) for layer in self._layers]
        trainable = sum(p.value.size for p in self.trainable_weights)
        print_summary(format_summary(self.name, rows, trainable, self.count_params() - trainable,
                                     self.dtype.itemsize), print_fn)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={[layer.name for layer in self._layers]}>"
