"""The fast training step: a plan of steps built once from a model's plain layers.

What it accelerates: one training step of ``minicnn/model/training.py`` -
``forward(x, training=True)``, the loss, ``backward`` - on a ``Sequential``
or a functional ``Model``. Each layer becomes a step (``steps.py``); the plan
wires them as the model's graph and decides, once, three things the plain
layers never need to know:

* **which input gradients nobody needs.** A layer whose inputs come only
  from layers with nothing to learn (the model's input, or a chain of
  weightless layers before the first weights) hands its dL/dx to nobody who
  learns: its step skips it; the steps before it skip their backward.
* **which forward outputs may be written over.** A ReLU/LeakyReLU layer
  whose one input is the output of a BatchNormalization (or a convolution or
  Dense with no activation) that nothing else reads, and whose backward
  reads its input and not its output, writes y over that output.
* **which gradients may be written over.** The gradient handed to a step is
  free when no other array still waiting in the backward pass shares its
  memory (``Add`` hands one array to both its inputs) and it is not the
  loss's own: then the step writes dz, or dx, over it.

Everything else - which arrays a layer keeps, the weights, the gradients in
each ``Parameter.grad`` - is the plain layers' contract. The numbers equal the
plain path's (``tests/test_plan_agreement.py``).
"""

from __future__ import annotations

import numpy as np

from ..layers.base import Layer
from .steps import ActivationStep, BatchNormStep, ConvStep, Step, step_for


def readers_of(sources: list[list[int]]) -> list[list[int]]:
    """For each layer, the layers that read its output (``sources[i]``: the inputs of
    layer i, as indices; -1 is the model's input)."""
    readers: list[list[int]] = [[] for _ in sources]
    for i, inputs in enumerate(sources):
        for s in inputs:
            if s >= 0:
                readers[s].append(i)
    return readers


def fresh_output(step: Step) -> bool:
    """Does this step's forward return a new array of its own (not a view of its input)?"""
    return isinstance(step, (ConvStep, BatchNormStep))


class TrainingPlan:
    """The fast forward and backward of a training step (see the module docstring).

    ``layers`` are the model's computing layers in order, each after its
    inputs, the output layer last; ``sources[i]`` the indices of layer i's
    inputs (-1: the model's input).
    """

    def __init__(self, layers: list[Layer], sources: list[list[int]]) -> None:
        self.layers = layers
        self.sources = sources
        self.steps = [step_for(layer) for layer in layers]
        self.readers = readers_of(sources)
        last = len(layers) - 1
        # learns_at_or_before[i]: some layer whose output reaches layer i's output has weights to learn
        self.learns_at_or_before: list[bool] = []
        for i, (layer, step) in enumerate(zip(layers, self.steps)):
            upstream = any(s >= 0 and self.learns_at_or_before[s] for s in sources[i])
            step.input_gradient_needed = upstream
            self.learns_at_or_before.append(upstream or bool(layer.trainable_weights))
        for i, step in enumerate(self.steps):
            if isinstance(step, ActivationStep) and len(sources[i]) == 1:
                s = sources[i][0]
                source = self.steps[s] if s >= 0 else None
                step.may_overwrite_input = (
                    source is not None and s != last and self.readers[s] == [i]
                    and fresh_output(source) and not source.reads_its_output)

    @property
    def logits(self) -> np.ndarray | None:
        """z of the output layer in the last forward (where the logits shortcut starts)."""
        return self.steps[-1].preactivation

    #: training steps run through any plan in this process (``cores.py`` reads it)
    steps_run = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The training forward; returns the output layer's output."""
        TrainingPlan.steps_run += 1
        values = {-1: x}
        unread = [len(r) for r in self.readers]
        for i, step in enumerate(self.steps):
            args = [values[s] for s in self.sources[i]]
            values[i] = step.forward(args if step.layer.multi_input else args[0], training=True)
            for s in self.sources[i]:
                if s >= 0:
                    unread[s] -= 1
                    if unread[s] == 0:
                        del values[s]      # the steps keep what their backward needs
        return values[len(self.steps) - 1]

    def backward(self, dy_pred: np.ndarray | None, dlogits: np.ndarray | None) -> None:
        """Fill every trainable ``Parameter.grad``; dL/d(input) is not computed."""
        start = dlogits if dlogits is not None else dy_pred
        grads: dict[int, np.ndarray] = {}      # layer index -> dL/d(its output), summed over readers
        for i in range(len(self.steps) - 1, -1, -1):
            step = self.steps[i]
            if not self.learns_at_or_before[i]:
                continue                        # nothing at or before it learns
            if i == len(self.steps) - 1:
                back = step.backward_preactivation(dlogits) if dlogits is not None \
                    else step.backward(dy_pred, dy_is_free=False)
            else:
                grad = grads.pop(i, None)
                if grad is None:
                    continue                    # its output does not reach the loss
                free = not np.may_share_memory(grad, start) and \
                    not any(np.may_share_memory(grad, other) for other in grads.values())
                back = step.backward(grad, dy_is_free=free)
            if back is None or not step.input_gradient_needed:
                continue
            for s, d in zip(self.sources[i], back if step.layer.multi_input else [back]):
                if s >= 0:
                    # several readers: add their gradients (a new array: d may be held elsewhere)
                    grads[s] = d if s not in grads else grads[s] + d
