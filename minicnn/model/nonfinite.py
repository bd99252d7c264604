"""Finding where a NaN or Inf was born, when a training step produces one.

A NaN spreads: once one value is NaN, every value computed from it is NaN
too, so the loss being NaN says nothing about *where* things went wrong. The
place to look is the first tensor, in the order the step computed them, that
holds a non-finite value:

    forward:   output of layer 1, output of layer 2, ..., output of layer k, loss
    backward:  dL/d(output of layer k), ..., dL/d(output of layer 1), dL/d(input)
               and each layer's weight gradients as its backward produces them

``fit`` checks every step cheaply (the loss, the weight gradients and the
non-trainable statistics such as BatchNorm's moving variance, before the
optimizer touches the weights); only when that check fails does
:func:`diagnose` replay the step through the plain layers, as a
:class:`~minicnn.model.trace.Trace`, to name the first culprit. A failed step
changes nothing: :class:`StepState` puts back the statistics and the random
generators it had moved, and the weights are never updated with a
non-finite gradient.
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


def _generators(model) -> list[np.random.Generator]:
    """The random generators a training step draws from (Dropout masks)."""
    return [layer._rng for layer in model._layers if isinstance(getattr(layer, "_rng", None), np.random.Generator)]


class StepState:
    """What a training step changes besides the weights: the non-trainable
    statistics and the generators. Taken before a step; ``restore`` undoes it."""

    def __init__(self, model) -> None:
        self.statistics = [(p, p.value.copy()) for p in model.non_trainable_weights]
        self.generators = [(g, g.bit_generator.state) for g in _generators(model)]

    def restore(self) -> None:
        for param, value in self.statistics:
            param.value[...] = value
        for generator, state in self.generators:
            generator.bit_generator.state = state


def step_is_finite(loss: float, params, statistics) -> bool:
    """The cheap per-step check: the loss, every weight gradient and every statistic."""
    if not np.isfinite(loss):
        return False
    return all(p.grad is None or _all_finite(p.grad) for p in params) and \
        all(_all_finite(p.value) for p in statistics)


def diagnose(model, x: np.ndarray, y, before: StepState, where: str) -> NonFiniteError:
    """Replay the failed step through the plain layers, walking its tensors in the
    order they were computed; return the error to raise.

    ``before`` is the state the step started from (restored already): the
    replay draws the same Dropout masks and starts from the same statistics,
    and is undone again at the end, so the failed step leaves nothing changed.
    """
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _replay(model, x, y, where)
    finally:
        before.restore()


def _replay(model, x, y, where: str) -> NonFiniteError:
    layers = model._layers  # the computing layers, each after its inputs
    outputs = model.forward(x, training=True)
    logits = getattr(layers[-1], "preactivation", None)
    loss, dy_pred, dlogits = model._loss_and_gradient(y, outputs[-1], logits)
    trace = Trace(loss=float(loss))
    for layer, out in zip(layers, outputs):
        trace.outputs[layer.name] = out
    message = None
    for layer, out in zip(layers, outputs):
        bad_statistics = [p.name for p in layer.non_trainable_weights if not np.isfinite(p.value).all()]
        if not np.isfinite(out).all() or bad_statistics:
            bad_weights = [p.name for p in layer.trainable_weights if not np.isfinite(p.value).all()]
            cause = (f"; its weights {bad_weights} already hold non-finite values" if bad_weights
                     else "; its input and weights were finite")
            if np.isfinite(out).all():
                what = (f"layer {layer.name!r} ({type(layer).__name__}) made its statistics {bad_statistics} "
                        "non-finite (its output is finite)")
            else:
                what = f"the output of layer {layer.name!r} ({type(layer).__name__}) holds {_count(out)}"
                if bad_statistics:
                    what += f", and this step made its statistics {bad_statistics} non-finite"
            message = f"forward pass: {what}{cause}"
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
            for source in model._source_names(layer):
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
                           f"First appearance - {message}. The weights and statistics were not changed by this step. "
                           "Usual causes: a learning rate too high, unscaled inputs, or log/division "
                           "of zero in a custom layer.")
    error.trace = trace
    return error
