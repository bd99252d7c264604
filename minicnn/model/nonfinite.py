"""Finding where a NaN or Inf was born, when a training step produces one.

A NaN spreads: once one value is NaN, every value computed from it is NaN
too, so the loss being NaN says nothing about *where* things went wrong. The
place to look is the first tensor, in the order the step computed them, that
holds a non-finite value:

    forward:   output of layer 1, output of layer 2, ..., output of layer k, loss
    backward:  dL/d(output of layer k), ..., dL/d(output of layer 1), dL/d(input)
               and each layer's weight gradients as its backward produces them

``fit`` checks every step cheaply (the loss and the weight gradients, before
the optimizer touches the weights); only when that check fails does
:func:`diagnose` walk the step's tensors, as a :class:`~minicnn.model.trace.Trace`,
to name the first culprit. The weights are never updated with a non-finite
gradient.
"""

from __future__ import annotations

import numpy as np

from ..errors import NonFiniteError
from .trace import Trace


def _count(a: np.ndarray) -> str:
    return f"{int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} Inf of {a.size} values"


def _all_finite(a: np.ndarray) -> bool:
    # A NaN or Inf anywhere makes the sum NaN or Inf, so a finite sum proves the
    # whole array finite without a boolean array per step; only a non-finite
    # sum (which float32 overflow alone could also cause) needs the exact test.
    return bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())


def step_is_finite(loss: float, params) -> bool:
    """The cheap per-step check: the loss and every weight gradient."""
    if not np.isfinite(loss):
        return False
    return all(p.grad is None or _all_finite(p.grad) for p in params)


def diagnose(model, outputs: list[np.ndarray], loss: float, dy_pred, dlogits, where: str) -> NonFiniteError:
    """Walk the step's tensors in the order they were computed; return the error to raise.

    ``outputs`` are the layer outputs of the failed step's forward pass; the
    backward pass is re-run from the layers' saved state (it changes nothing
    but the gradients) to record dL/d(every output).
    """
    layers = model._layers  # the computing layers, each after its inputs
    # None: an output the next layer wrote over (Sequential._step_forward); rebuilt
    outputs = [layer.rebuild_output() if out is None else out for layer, out in zip(layers, outputs)]
    trace = Trace(loss=float(loss))
    for layer, out in zip(layers, outputs):
        trace.outputs[layer.name] = out
    message = None
    for layer, out in zip(layers, outputs):
        if not np.isfinite(out).all():
            bad_weights = [p.name for p in layer.weights if not np.isfinite(p.value).all()]
            cause = (f"; its weights {bad_weights} already hold non-finite values" if bad_weights
                     else "; its input and weights were finite")
            message = (f"forward pass: the output of layer {layer.name!r} ({type(layer).__name__}) "
                       f"holds {_count(out)}{cause}")
            break
    if message is None and not np.isfinite(loss):
        message = f"forward pass: every layer output is finite, but the loss is {loss}"
    if message is None:
        grads: dict[str, np.ndarray] = {}
        start = dlogits if dlogits is not None else dy_pred
        grads[layers[-1].name] = start
        grads["input"] = model.backward(dy_pred, dlogits, record=grads.__setitem__)
        trace.grads = grads
        trace.weight_grads = {l.name: [p.grad for p in l.trainable_weights] for l in layers}
        # dL/d(output of a layer) is computed by the backward of the layer(s) reading
        # it; the same backward produced the reader's weight gradients.
        order = [(layers[-1].name, "the loss gradient", grads[layers[-1].name])]
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            for p in layer.trainable_weights:
                order.append((layer.name, f"the gradient of {layer.name}.{p.name}", p.grad))
            for source in model._sources(layer):
                order.append((layer.name, f"dL/d(input of {layer.name!r})", grads.get(source)))
        for name, what, g in order:
            if g is not None and not np.isfinite(g).all():
                layer = model.get_layer(name)
                message = (f"backward pass (the forward pass and the loss {loss:.4g} were finite): "
                           f"{what}, computed by layer {name!r} ({type(layer).__name__}), "
                           f"holds {_count(g)}")
                break
    if message is None:  # cannot happen when step_is_finite failed; kept for safety
        message = "a non-finite value appeared, but re-running the step found none"
    error = NonFiniteError(f"model {model.name!r}, {where}: non-finite value in training. "
                           f"First appearance - {message}. The weights were not updated by this step. "
                           "Usual causes: a learning rate too high, unscaled inputs, or log/division "
                           "of zero in a custom layer.")
    error.trace = trace
    return error
