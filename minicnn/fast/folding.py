"""The fast ``predict``: each BatchNormalization folded into the layer before it.

What it accelerates: ``predict`` and ``evaluate`` (``minicnn/model/training.py``),
which otherwise run every layer's plain ``forward(x, training=False)``.

In inference, BatchNormalization is a fixed affine map of each channel::

    y = gamma * (z - moving_mean) / sqrt(moving_variance + eps) + beta
      = s * z + t          s = gamma / sqrt(moving_variance + eps),  t = beta - s * moving_mean

When z is the output of a ``Conv2D``, ``DepthwiseConv2D`` or ``Dense`` with no
activation of its own, z = x (*) W + b, and the two layers are one::

    y = x (*) (W * s) + (s * b + t)        W * s scales output channel f of W by s[f]

So ``predict`` runs that layer once with the rescaled kernel and bias, and
the normalization pass over the whole output disappears. A ``ReLU`` or
``LeakyReLU`` layer right after joins the bias add, in one pass written over
the product (``elementwise.py``). A Conv2D read by a max-pool alone runs with
it as one step (``pooling.py``). Every other layer runs as its fast step
(``steps.py``) in inference mode.

A layer is folded into the BatchNormalization after it only when that
BatchNormalization is its one reader (and reads nothing else), its output is
not a model output, neither has a forward hook, and folding pays (``_folding_pays``).
The folded weights are computed afresh for every ``predict`` call, so training
between calls is always seen. The results equal the layer-by-layer ones up to
float32 rounding (the products are grouped differently); a test holds them to it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..layers.base import Layer
from ..layers.batch_norm import BatchNormalization
from ..layers.conv2d import Conv2D
from ..layers.dense import Dense
from ..layers.depthwise_conv2d import DepthwiseConv2D
from . import elementwise
from .plan import fresh_output, readers_of
from .pooling import pooled_step
from .steps import ActivationStep, ReluFamily, Step, step_for


def _foldable(layer: Layer) -> bool:
    """A Conv2D, DepthwiseConv2D or Dense (not Conv2DTranspose) with no activation."""
    return type(layer) in (Conv2D, DepthwiseConv2D, Dense) and layer.activation.name == "linear"


def _folding_pays(layer: Layer, norm: BatchNormalization, images: int) -> bool:
    """Is folding this pair cheaper than running the BatchNormalization?

    Folding rescales the whole kernel once per ``predict`` call; it saves one
    pass over the BatchNormalization's output for every image. So it pays when
    the images' outputs hold more values than the kernel: for the seed CIFAR
    model's first three convolutions from one image on, its fourth from 10
    images, its 4096x128 Dense from 4097; not for MobileNetV2's wide 1x1
    convolutions on a single image.
    """
    return images * int(np.prod(norm.output_shape)) > layer.kernel.value.size


class FoldedStep(Step):
    """``layer`` + ``norm`` (+ a ReLU/LeakyReLU after them) as one layer with a rescaled kernel."""

    def __init__(self, layer: Layer, norm: BatchNormalization, relu: ReluFamily | None) -> None:
        super().__init__(layer)
        dtype = layer.kernel.value.dtype
        # the same inv_std as BatchNormalization's own inference forward
        inv_std = 1.0 / (norm.moving_variance.value + norm.epsilon) ** 0.5
        scale = (norm.gamma.value * inv_std).astype(dtype)                         # s, one per channel
        bias = np.zeros_like(scale) if layer.bias is None else layer.bias.value
        shift = (norm.beta.value - scale * norm.moving_mean.value).astype(dtype)   # t
        # output channel f of the kernel times s[f]: the last axis, or for a depthwise
        # kernel (KH, KW, C, M) the last two, since its output channel c*M + m is [.., c, m]
        kernel = layer.kernel.value
        self.kernel = kernel * scale.reshape(kernel.shape[-2:] if isinstance(layer, DepthwiseConv2D)
                                             else scale.shape)
        self.bias = (scale * bias + shift).astype(dtype)
        self.relu = relu

    def forward(self, x, training=False):
        z = self.layer.convolve(x, self.kernel) if isinstance(self.layer, Conv2D) else x @ self.kernel
        if self.relu is not None:
            return self.relu.forward_with_bias(z, self.bias)
        elementwise.add_bias(z, self.bias)
        return z


class PredictPlan:
    """The steps of an inference pass of ``images`` images, folded where that pays.

    ``layers`` in computing order, ``sources[i]`` the inputs of layer i (-1: the
    model's input), ``outputs`` the indices of the model's output layers.
    """

    def __init__(self, layers: list[Layer], sources: list[list[int]], outputs: list[int],
                 images: int) -> None:
        readers = readers_of(sources)

        def sole_reader(i: int) -> int | None:
            if len(readers[i]) == 1 and i not in outputs and len(sources[readers[i][0]]) == 1:
                return readers[i][0]
            return None

        #: (step, indices of its inputs, index of the layer whose output it computes)
        self.entries: list[tuple[Step, list[int], int]] = []
        self.outputs = outputs
        done: set[int] = set()               # computed early, by a folded step
        for i, layer in enumerate(layers):
            if i in done:
                continue
            folded = self._fold(layers, i, sole_reader, images)
            if folded is not None:
                step, covered = folded
                done.update(covered)
                self.entries.append((step, sources[i], covered[-1]))
                continue
            reader = sole_reader(i)
            pooled = pooled_step(layer, layers[reader]) if reader is not None else None
            if pooled is not None:            # a Conv2D and its max-pool: pooling.py
                done.add(reader)
                self.entries.append((pooled, sources[i], reader))
                continue
            step = step_for(layer)
            if isinstance(step, ActivationStep) and len(sources[i]) == 1:
                s = sources[i][0]
                source_entry = next((e for e in self.entries if e[2] == s), None)
                step.may_overwrite_input = (source_entry is not None and readers[s] == [i] and s not in outputs
                                            and (fresh_output(source_entry[0])
                                                 or isinstance(source_entry[0], FoldedStep)))
            self.entries.append((step, sources[i], i))

    @staticmethod
    def _fold(layers: list[Layer], i: int, sole_reader: Callable[[int], int | None],
              images: int) -> tuple[Step, list[int]] | None:
        """The folded step for layer i + its BatchNormalization (+ a ReLU/LeakyReLU) and
        the indices of the layers it stands for besides i; None when it cannot or should not fold."""
        layer = layers[i]
        if not _foldable(layer) or layer._hooks:
            return None
        n = sole_reader(i)
        if n is None or not isinstance(layers[n], BatchNormalization) or layers[n]._hooks \
                or not _folding_pays(layer, layers[n], images):
            return None
        a = sole_reader(n)
        after = step_for(layers[a]) if a is not None else None
        relu = after.relu if isinstance(after, ActivationStep) else None
        return FoldedStep(layer, layers[n], relu), ([n, a] if relu is not None else [n])

    def __len__(self) -> int:
        return len(self.entries)

    def run(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        """Pass one batch; returns the model's outputs and the output layer's logits
        (z before its activation, or None)."""
        values = {-1: x}
        unread: dict[int, int] = {}         # how many entries still read each value
        for _, inputs, _ in self.entries:
            for s in inputs:
                unread[s] = unread.get(s, 0) + 1
        logits = None
        for step, inputs, target in self.entries:
            args = [values[s] for s in inputs]
            values[target] = step.forward(args if step.layer.multi_input else args[0], training=False)
            logits = step.preactivation
            for s in inputs:
                unread[s] -= 1
                if unread[s] == 0 and s not in self.outputs:
                    del values[s]
        return [values[i] for i in self.outputs], logits
