"""Forward to any layer, backward from any layer: the engine room of ``minicnn.viz``.

Every view that needs a gradient - saliency, Grad-CAM, activation
maximization, receptive fields - asks the same question: *how does one number
computed inside the network change with the input?* ``Sequential.backward``
answers it for the loss; the functions here answer it for any tensor::

    x --L1--> a1 --L2--> a2 --L3--> a3          forward_to(model, x, "L3")
    dx <-L1-- da1 <-L2-- da2 <-L3-- seed         backward_from(model, "L3", seed)

``seed`` is d(number)/d(a3), chosen by the caller: a one-hot on a unit, a
channel's mean, a class score... The layers' own ``backward`` methods do the
rest, so every view is computed with the same code that trains the network.

Everything runs in inference mode (``training=False``): Dropout is the
identity and BatchNorm uses its moving statistics, so nothing the model has
learned is changed, and the answer does not depend on the rest of the batch.
The parameters' ``.grad`` are overwritten, as by any backward pass.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError, ShapeError
from ..layers.base import Layer
from ..layers.input_layer import InputLayer
from ..model import validation


def layer_index(model, layer: str | int | Layer) -> int:
    """Position of ``layer`` (a name, an index or the layer itself) in ``model.layers``."""
    layers = model.layers
    if isinstance(layer, Layer):
        for i, candidate in enumerate(layers):
            if candidate is layer:
                return i
        raise ConfigError(f"model {model.name!r} does not contain layer {layer.name!r}")
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        index = int(layer) if layer >= 0 else len(layers) + int(layer)
        if not 0 <= index < len(layers):
            raise ConfigError(f"model {model.name!r} has {len(layers)} layers; index {layer} is out of range")
        return index
    for i, candidate in enumerate(layers):
        if candidate.name == layer:
            return i
    raise ConfigError(f"model {model.name!r} has no layer {layer!r}; layers: "
                      f"{[candidate.name for candidate in layers]}")


def as_batch(model, image: np.ndarray) -> np.ndarray:
    """One image ``(H, W, C)`` or a batch ``(N, H, W, C)`` -> a checked batch.

    The model's input shape decides: an array with one axis fewer than the
    model's input is one sample and gets a batch axis.
    """
    x = np.asarray(image)
    if model.built and x.ndim == len(model.input_shape):
        x = x[None]
    x = validation.check_x(model, x)
    model._ensure_built(x)
    return x.astype(model.dtype, copy=False)


def forward_to(model, x: np.ndarray, layer: str | int | Layer | None = None) -> dict[str, np.ndarray]:
    """Run the layers up to and including ``layer`` (default: all), in inference mode.

    Returns ``{"input": x, name: output, ...}`` in layer order. (The model
    walks its own chain or graph: ``Sequential.forward_to``, ``Model.forward_to``.)
    """
    stop = len(model.layers) - 1 if layer is None else layer_index(model, layer)
    return model.forward_to(x, model.layers[stop])


def backward_from(model, layer: str | int | Layer, seed: np.ndarray, preactivation: bool = False,
                  record: Callable[[str, np.ndarray], None] | None = None) -> np.ndarray:
    """Backpropagate ``seed`` = d(number)/d(output of ``layer``) down to the input.

    Must follow a :func:`forward_to` that reached ``layer`` (the layers keep
    what their backward needs from that forward). With ``preactivation``,
    ``seed`` is the gradient *before* ``layer``'s activation (its logits).
    ``record(name, grad)`` receives d(number)/d(output) of every layer at and
    below ``layer``. Returns d(number)/d(input), shaped like the input.
    """
    target = model.layers[layer_index(model, layer)]
    return model.backward_from(target, seed, preactivation=preactivation, record=record)


def _is_softmax(layer: Layer) -> bool:
    fn = getattr(layer, "activation", None)
    return getattr(fn, "name", None) == "softmax"


def logits_layer(model) -> tuple[int, bool]:
    """Where the class scores (the numbers before the softmax) live.

    Returns ``(index, preactivation)``:

    * ``Dense(10, activation="softmax")``        -> (last, True): its pre-activation
    * ``Dense(10)`` then ``Softmax()`` layer     -> (last - 1, False): the Dense output
    * no softmax at the end                      -> (last, False): the output itself
    """
    last = len(model.layers) - 1
    layer = model.layers[last]
    if _is_softmax(layer):
        if hasattr(layer, "fn"):            # a Softmax / Activation("softmax") layer
            below = _producer(model, last)
            if below is None:
                raise ConfigError(f"model {model.name!r} is only a softmax: there are no class scores")
            return below, False
        return last, True                   # softmax fused into Dense/Conv2D
    return last, False


def _producer(model, index: int) -> int | None:
    """Index of the layer whose output feeds ``model.layers[index]`` (None: the input)."""
    layer = model.layers[index]
    if layer.inbound:                       # a functional model: follow the graph
        source = layer.inbound[0].layer
        return None if isinstance(source, InputLayer) else model.layers.index(source)
    return index - 1 if index > 0 else None


def class_scores(model, x: np.ndarray, outputs: dict | None = None) -> np.ndarray:
    """The pre-softmax class scores ``(N, K)`` of a checked batch (inference mode).

    ``outputs``, if given, is filled with every layer's output on the way.
    """
    index, preactivation = logits_layer(model)
    reached = forward_to(model, x, index)
    if outputs is not None:
        outputs.update(reached)
    layer = model.layers[index]
    return layer.preactivation if preactivation else reached[layer.name]


def score_gradient(model, x: np.ndarray, class_index: int | np.ndarray | None,
                   record: Callable[[str, np.ndarray], None] | None = None,
                   outputs: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores and d(score of ``class_index``)/d(input) for every sample of ``x``.

    ``class_index`` is one class for the whole batch, one per sample, or
    None for each sample's predicted class (found in the same forward pass).
    Returns ``(scores (N,), dscore/dx (N, H, W, C))``. Each sample's score
    depends only on itself in inference mode, so one backward pass gives all
    N gradients at once. ``record`` and ``outputs`` receive every layer's
    gradient and output, for views that need both (Grad-CAM).
    """
    index, preactivation = logits_layer(model)
    scores = class_scores(model, x, outputs)
    if class_index is None:                       # each sample's predicted class
        classes = scores.argmax(axis=-1)
    else:
        classes = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (len(x),))
    if classes.min() < 0 or classes.max() >= scores.shape[-1]:
        raise ShapeError(f"model {model.name!r} has {scores.shape[-1]} classes; "
                         f"class index {class_index} is out of range")
    seed = np.zeros_like(scores)
    seed[np.arange(len(x)), classes] = 1.0      # d(score_c)/d(scores) is one-hot
    dx = backward_from(model, index, seed, preactivation=preactivation, record=record)
    return scores[np.arange(len(x)), classes], dx
