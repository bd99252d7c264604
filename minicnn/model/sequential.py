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

from ..errors import ConfigError, NotBuiltError, ShapeError
from ..layers.base import Layer
from ..layers.input_layer import InputLayer
from ..naming import unique_name
from ..layers.graph import SymbolicTensor
from .summary import format_summary, print_summary
from .base import BaseModel


class Sequential(BaseModel):
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
        super().__init__(name or unique_name("sequential"), seed)
        self._layers: list[Layer] = []
        self.input_layer: InputLayer | None = None
        self.input_shape: tuple[int, ...] | None = None
        self.built = False
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """The layers (the ``Input`` declaration is not counted, as in Keras)."""
        return list(self._layers)

    def add(self, layer: Layer) -> None:
        """Append a layer; builds it at once when the input shape is known."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer  # Input(shape) returns its layer's symbolic output
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

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        if not self.built:
            raise NotBuiltError(f"model {self.name!r} is not built yet")
        return (None,) + self._layers[-1].output_shape

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
        weights: the layers before it have nothing to learn. Returns None then.
        ``record(name, grad)`` receives dL/d(output) of every layer but the last.
        """
        layers = self._layers
        first = 0
        if not input_grad:
            first = next((i for i, layer in enumerate(layers) if layer.trainable_weights), 0)
        last = layers[-1]
        grad = last.backward_preactivation(dlogits) if dlogits is not None else last.backward(dy_pred)
        for i in range(len(layers) - 2, first - 1, -1):
            if record is not None:
                record(layers[i].name, grad)
            grad = layers[i].backward(grad)
        return grad if input_grad else None

    def _sources(self) -> list[list[int]]:
        """Layer i reads layer i - 1 (the first reads the model's input, -1)."""
        return [[i - 1] for i in range(len(self._layers))]

    def _source_names(self, layer: Layer) -> list[str]:
        """Where ``layer``'s input comes from: the layer before it, or ``"input"``."""
        i = self._layers.index(layer)
        return [self._layers[i - 1].name if i > 0 else "input"]

    # ------------------------------------------------------------------ probing (minicnn.viz)
    def forward_to(self, x: np.ndarray, target: Layer) -> dict[str, np.ndarray]:
        """Run the layers up to and including ``target`` in inference mode;
        return ``{"input": x, name: output, ...}``."""
        outputs = {"input": x}
        for layer in self._layers:
            x = layer.apply(x, training=False)
            outputs[layer.name] = x
            if layer is target:
                break
        return outputs

    def backward_from(self, target: Layer, seed: np.ndarray, preactivation: bool = False,
                      record: Callable[[str, np.ndarray], None] | None = None) -> np.ndarray:
        """Backpropagate ``seed`` = d(number)/d(output of ``target``) to the input
        (after a ``forward_to`` that reached ``target``); ``record(name, grad)``
        gets d(number)/d(output) of ``target`` and every layer below it."""
        stop = self._layers.index(target)
        if record is not None and not preactivation:
            record(target.name, seed)
        grad = target.backward_preactivation(seed) if preactivation else target.backward(seed)
        for layer in reversed(self._layers[:stop]):
            if record is not None:
                record(layer.name, grad)
            grad = layer.backward(grad)
        return grad

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
