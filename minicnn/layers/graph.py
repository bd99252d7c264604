"""Symbolic tensors: how ``x = Conv2D(8, 3)(inputs)`` records a graph.

Calling a layer on a *symbolic* tensor computes nothing. It builds the layer
for the tensor's shape and returns a new symbolic tensor that remembers which
layer made it and from which tensors::

    inputs = Input((32, 32, 3))            SymbolicTensor (None, 32, 32, 3), made by an InputLayer
    a = Conv2D(8, 3, padding="same")(inputs)    made by conv2d  from [inputs]
    b = Conv2D(8, 1)(inputs)                    made by conv2d_1 from [inputs]
    y = Add()([a, b])                           made by add      from [a, b]

Following ``inbound`` links back from ``y`` finds every layer the model needs.
:func:`keras_order` lists them in the order Keras's functional models use
(``model.layers``, ``get_weights`` and Keras weight files all follow it):

* the *depth* of a layer is the length of the longest path from it to an
  output (the output layer has depth 0);
* layers are listed by decreasing depth - so every layer comes after all the
  layers it reads from - and layers of equal depth in the order a depth-first
  walk from the outputs first met them.

In this module a layer is called at most once (no shared layers), so a layer
and the tensor it made are one-to-one: ``layer.output``.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import ConfigError


class SymbolicTensor:
    """A placeholder for the batch of values one layer will produce.

    Attributes
    ----------
    shape : tuple
        ``(None,) + per-sample shape``, as Keras prints it.
    layer : Layer
        The layer that produces it (an ``InputLayer`` for ``Input(...)``).
    """

    __slots__ = ("shape", "layer")

    def __init__(self, shape: tuple, layer) -> None:
        self.shape = (None,) + tuple(shape)
        self.layer = layer

    @property
    def inbound(self) -> list["SymbolicTensor"]:
        """The tensors the producing layer was called on (empty for an input)."""
        return list(self.layer.inbound or [])

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} from {self.layer.name!r}>"


def as_tensor_list(value, what: str) -> list[SymbolicTensor]:
    """One symbolic tensor or a list/tuple of them -> a list, or raise."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, SymbolicTensor):
            raise ConfigError(f"{what} must be symbolic tensors (from Input(...) or a layer "
                              f"called on one), got {type(item).__name__}")
    if not items:
        raise ConfigError(f"{what} must not be empty")
    return items


def connect(layer, inputs) -> SymbolicTensor:
    """Record ``layer(inputs)``: build the layer for the inputs' shapes, return its output."""
    tensors = as_tensor_list(inputs, f"the inputs of layer {layer.name!r}")
    if layer.inbound is not None:
        raise ConfigError(f"layer {layer.name!r} has already been called on "
                          f"{[t.layer.name for t in layer.inbound]}; a minicnn layer is called once "
                          "(make a new layer instead of sharing one)")
    if getattr(layer, "multi_input", False):
        layer.build([t.shape[1:] for t in tensors])
    else:
        if len(tensors) != 1:
            raise ConfigError(f"layer {layer.name!r} ({type(layer).__name__}) takes one input, "
                              f"got {len(tensors)}")
        layer.build(tensors[0].shape[1:])
    layer.inbound = tensors
    layer.output = SymbolicTensor(layer.output_shape, layer)
    return layer.output


def keras_order(outputs: Sequence[SymbolicTensor]) -> list:
    """Every layer that ``outputs`` depend on, in Keras's order (see module doc)."""
    first_met: dict[int, int] = {}   # id(layer) -> position in a pre-order walk from the outputs
    post_order: list = []            # every layer after all the layers it reads from

    def walk(layer) -> None:
        if id(layer) in first_met:
            return  # call-once layers cannot form a cycle, so "met" means "done"
        first_met[id(layer)] = len(first_met)
        for tensor in layer.inbound or []:
            walk(tensor.layer)
        post_order.append(layer)

    for tensor in outputs:
        walk(tensor.layer)
    # Depth = longest path to an output: visit consumers before producers and
    # push each producer's depth up to (consumer's depth + 1).
    depth = {id(layer): 0 for layer in post_order}
    for layer in reversed(post_order):
        for tensor in layer.inbound or []:
            depth[id(tensor.layer)] = max(depth[id(tensor.layer)], depth[id(layer)] + 1)
    return sorted(post_order, key=lambda layer: (-depth[id(layer)], first_met[id(layer)]))
