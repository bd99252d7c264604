"""``Model``: the functional API - any graph of layers, not only a chain.

Build the graph by calling layers on symbolic tensors (see
``minicnn.layers.graph``), then hand the model its input and output::

    inputs = Input((32, 32, 3))
    x = Conv2D(16, 3, padding="same")(inputs)
    y = Conv2D(16, 3, padding="same", activation="relu")(x)
    y = Add()([x, y])                    # a residual connection: x feeds two layers
    outputs = Dense(10, activation="softmax")(GlobalAveragePooling2D()(y))
    model = Model(inputs, outputs)

Forward runs the layers in Keras's order (every layer after its inputs) and
keeps each layer's output until its consumers have read it. Backward runs the
same list in reverse; each layer receives dL/d(its output) and returns
dL/d(each of its inputs). A tensor that fed several layers - ``x`` above -
collects one gradient from each, and they are **added**: by the chain rule,
L depends on x through every path, so dL/dx = sum over paths::

    dL/dx = (dL/dx through Add) + (dL/dx through the second Conv2D)

Training, ``trace``, ``save``, the weights API and ``minicnn.viz`` are the
same as ``Sequential``'s (``minicnn.model.base``).
Limits: one input tensor; a model with several outputs predicts and traces
but does not train; a layer is called once (no shared layers).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError, NotBuiltError
from ..layers.base import Layer
from ..layers.input_layer import InputLayer
from ..naming import unique_name
from .base import BaseModel
from ..layers.graph import as_tensor_list, keras_order
from .summary import format_summary, print_summary


class Model(BaseModel):
    """A model defined by its input and output tensors (Keras ``Model`` / ``Functional``).

    Parameters
    ----------
    inputs : SymbolicTensor
        What ``Input(shape)`` returned (one input).
    outputs : SymbolicTensor or list of SymbolicTensor
        The tensors the model computes; with a list, ``predict`` returns a list.
    name : str, optional
        Defaults to ``functional``, ``functional_1``, ...
    """

    def __init__(self, inputs, outputs, name: str | None = None, seed: int | None = None) -> None:
        super().__init__(name or unique_name("functional"), seed)
        ins = as_tensor_list(inputs, f"model {self.name!r}: inputs")
        if len(ins) != 1 or not isinstance(ins[0].layer, InputLayer):
            raise ConfigError(f"model {self.name!r}: inputs must be one tensor returned by Input(...), "
                              f"got {ins}")
        self.input = ins[0]
        self.input_layer: InputLayer = self.input.layer
        self.input_shape = self.input_layer.shape
        self._list_output = isinstance(outputs, (list, tuple))
        self.outputs = as_tensor_list(outputs, f"model {self.name!r}: outputs")
        order = keras_order(self.outputs)
        for layer in order:
            if isinstance(layer, InputLayer) and layer is not self.input_layer:
                raise ConfigError(f"model {self.name!r}: the graph is disconnected - the outputs depend "
                                  f"on input {layer.name!r}, which is not the model's input "
                                  f"{self.input_layer.name!r}")
        if self.input_layer not in order:
            raise ConfigError(f"model {self.name!r}: the outputs do not depend on the input "
                              f"{self.input_layer.name!r}")
        self._layers = [layer for layer in order if layer is not self.input_layer]
        if not self._layers:
            raise ConfigError(f"model {self.name!r}: the only output is the input itself; add a layer")
        # -1: an output that is the input itself (Keras allows it: a feature-extraction model
        # built from ``[layer.output for layer in model.layers]`` lists the input first)
        self._output_index = [-1 if t.layer is self.input_layer else self._layers.index(t.layer)
                              for t in self.outputs]
        self.built = True

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """``[input layer] + layers``, in Keras's order (see ``minicnn.layers.graph``)."""
        return [self.input_layer] + self._layers

    @property
    def output(self):
        """The output tensor (a list with several outputs), as Keras's ``model.output``."""
        return list(self.outputs) if self._list_output else self.outputs[0]

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes if self._list_output else shapes[0]

    def build(self, input_shape=None) -> None:
        """A functional model is built when it is made; kept for the Keras API."""

    def _ensure_built(self, x: np.ndarray) -> None:
        """Always built (the shapes came with the graph)."""

    def compile(self, loss, optimizer="rmsprop", metrics=None, jit_compile: bool = True) -> None:
        if len(self.outputs) != 1:
            raise ConfigError(f"model {self.name!r} has {len(self.outputs)} outputs; minicnn trains "
                              "models with one output (this one can predict and trace)")
        super().compile(loss, optimizer, metrics, jit_compile)

    def _source_names(self, layer: Layer) -> list[str]:
        """Where ``layer``'s inputs come from: layer names, or ``"input"``."""
        return ["input" if t.layer is self.input_layer else t.layer.name for t in layer.inbound]

    # ------------------------------------------------------------------ passes
    def _run(self, x: np.ndarray, training: bool, stop: int) -> list[np.ndarray]:
        """Outputs of ``self._layers[:stop + 1]``, computed in order."""
        values = {id(self.input_layer): x}  # layer -> its output (one output per layer)
        outputs = []
        for layer in self._layers[:stop + 1]:
            args = [values[id(t.layer)] for t in layer.inbound]
            y = layer.apply(args if layer.multi_input else args[0], training=training)
            values[id(layer)] = y
            outputs.append(y)
        return outputs

    def forward(self, x: np.ndarray, training: bool = False) -> list[np.ndarray]:
        """Run every layer; return their outputs in ``self._layers`` order (last = output)."""
        return self._run(x, training, len(self._layers) - 1)

    def _backprop(self, target: Layer, seed: np.ndarray, preactivation: bool,
                  record: Callable[[str, np.ndarray], None] | None, input_grad: bool,
                  record_target: bool) -> np.ndarray | None:
        """Backpropagate ``seed`` = dL/d(output of ``target``) through the graph."""
        stop = self._layers.index(target)
        grads: dict[int, np.ndarray] = {}  # id(layer) -> dL/d(its output), summed over consumers
        for i in range(stop, -1, -1):
            layer = self._layers[i]
            if layer is target:
                grad = seed
                if record is not None and record_target and not preactivation:
                    record(layer.name, grad)
                back = layer.backward_preactivation(grad) if preactivation else layer.backward(grad)
            else:
                grad = grads.pop(id(layer), None)
                if grad is None:
                    continue  # this layer does not reach the target
                if record is not None:
                    record(layer.name, grad)
                back = layer.backward(grad)
            for tensor, d in zip(layer.inbound, back if layer.multi_input else [back]):
                key = id(tensor.layer)
                # A tensor read by several layers: add the gradients (a new array,
                # never in place: ``d`` may be an array another layer still holds).
                grads[key] = d if key not in grads else grads[key] + d
        return grads.get(id(self.input_layer)) if input_grad else None

    def backward(self, dy_pred: np.ndarray | None, dlogits: np.ndarray | None = None,
                 record: Callable[[str, np.ndarray], None] | None = None,
                 input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate from dL/d(prediction) - or dL/d(logits) with the logits
        shortcut - and return dL/d(input). ``record(name, grad)`` receives
        dL/d(output) of every layer but the output layer."""
        last = self._layers[-1]
        if dlogits is not None:
            return self._backprop(last, dlogits, True, record, input_grad, record_target=False)
        return self._backprop(last, dy_pred, False, record, input_grad, record_target=False)

    # ------------------------------------------------------------------ probing (minicnn.viz)
    def forward_to(self, x: np.ndarray, target: Layer) -> dict[str, np.ndarray]:
        """Run the layers up to ``target`` (in order) in inference mode;
        return ``{"input": x, name: output, ...}``."""
        outputs = {"input": x}
        if target is self.input_layer:
            outputs[target.name] = x
            return outputs
        stop = self._layers.index(target)
        for layer, y in zip(self._layers, self._run(x, False, stop)):
            outputs[layer.name] = y
        return outputs

    def backward_from(self, target: Layer, seed: np.ndarray, preactivation: bool = False,
                      record: Callable[[str, np.ndarray], None] | None = None) -> np.ndarray:
        """Backpropagate ``seed`` = d(number)/d(output of ``target``) to the input."""
        if target is self.input_layer:
            return seed
        return self._backprop(target, seed, preactivation, record, True, record_target=True)

    def _sources(self) -> list[list[int]]:
        """For each layer, the indices of its inputs in ``self._layers`` (-1: the model's input)."""
        index = {id(layer): i for i, layer in enumerate(self._layers)}
        return [[index.get(id(t.layer), -1) for t in layer.inbound] for layer in self._layers]

    def _output_indices(self) -> list[int]:
        return list(self._output_index)

    def summary(self, print_fn: Callable[[str], None] | None = None) -> None:
        """The Keras-style table, with the "Connected to" column of functional models."""
        if not self.built:
            raise NotBuiltError(f"model {self.name!r} is not built")
        rows = [(f"{layer.name} ({type(layer).__name__})", str((None,) + tuple(layer.output_shape)),
                 layer.count_params(), [f"{t.layer.name}[0][0]" for t in layer.inbound])
                for layer in self.layers]
        trainable = sum(p.value.size for p in self.trainable_weights)
        print_summary(format_summary(self.name, rows, trainable, self.count_params() - trainable,
                                     self.dtype.itemsize), print_fn)

    def __repr__(self) -> str:
        return f"<Model name={self.name!r} layers={len(self._layers)} outputs={len(self.outputs)}>"
