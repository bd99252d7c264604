"""``predict`` with each BatchNormalization folded into the layer before it.

In inference, BatchNormalization is a fixed affine map of each channel::

    y = gamma * (z - moving_mean) / sqrt(moving_variance + eps) + beta
      = s * z + t          s = gamma / sqrt(moving_variance + eps),  t = beta - s * moving_mean

When z is the output of a ``Conv2D``, ``DepthwiseConv2D`` or ``Dense`` with no
activation of its own, z = x (*) W + b, and the two layers are one::

    y = x (*) (W * s) + (s * b + t)        W * s scales output channel f of W by s[f]

So ``predict`` runs that layer once with the rescaled kernel and bias, and
the normalization pass over the whole output disappears. A ``ReLU`` or
``LeakyReLU`` layer right after joins the bias add, in one pass written over
the product (``minicnn/kernels/elementwise.py``): three passes over the
largest arrays of the seed CIFAR model become one.

Only ``predict`` and ``evaluate`` take this path (on a ``Sequential`` and on
a functional ``Model``; see the end of this file for graphs), and only for
layers with no forward hook (a hooked layer runs as itself, so its hook sees its
own input and output). ``forward``, ``trace``
and the ``minicnn.viz`` probes run every layer as written, so
each layer's own output stays visible; and the folded steps leave their
layers' saved state (what a backward pass reads) alone. The folded weights
are computed afresh for every ``predict`` call, so training between calls is
always seen. The results equal the layer-by-layer ones up to float32
rounding (the products are grouped differently); a test holds them to it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..kernels import elementwise
from ..layers.activation_layers import _ActivationLayer
from ..layers.base import Layer
from ..layers.batch_norm import BatchNormalization
from ..layers.conv2d import Conv2D
from ..layers.dense import Dense
from ..layers.depthwise_conv2d import DepthwiseConv2D

Step = Callable[[np.ndarray], np.ndarray]


def _foldable(layer: Layer) -> bool:
    """A Conv2D, DepthwiseConv2D or Dense (not Conv2DTranspose) with no activation."""
    return type(layer) in (Conv2D, DepthwiseConv2D, Dense) and layer.activation.name == "linear"


def _pays(layer: Layer, norm: BatchNormalization, images: int) -> bool:
    """Is folding this pair cheaper than running the BatchNormalization?

    Folding rescales the whole kernel once per ``predict`` call; it saves one
    pass over the BatchNormalization's output for every image. So it pays when
    the images' outputs hold more values than the kernel: for the seed CIFAR
    model's first three convolutions from one image on, its fourth from 10
    images, its 4096x128 Dense from 4097; not for MobileNetV2's wide 1x1
    convolutions on a single image (measured: folding every pair made one-image
    MobileNetV2 predict 1.5-2 ms slower than running every layer).
    """
    return images * int(np.prod(norm.output_shape)) > layer.kernel.value.size


def _hooked(*layers: Layer | None) -> bool:
    """Does any of these layers have a forward hook? (Then it must run as itself.)"""
    return any(layer is not None and layer._hooks for layer in layers)


def _bias_then(layer: Layer | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """``(z, bias) -> f(z + bias)`` in one pass, for a plain ReLU or LeakyReLU layer; else None."""
    fn = layer.fn if isinstance(layer, _ActivationLayer) else None
    if fn is not None and fn.name == "relu" and fn.max_value is None:
        return elementwise.bias_relu_forward
    if fn is not None and fn.name == "leaky_relu":
        slope = fn.negative_slope
        return lambda z, bias: elementwise.bias_leaky_relu_forward(z, bias, slope)
    return None


def _folded_step(layer: Layer, norm: BatchNormalization,
                 activation: Callable[[np.ndarray, np.ndarray], np.ndarray] | None) -> Step:
    """One step for ``layer`` + ``norm`` (+ the activation layer after them)."""
    dtype = layer.kernel.value.dtype
    # the same inv_std as BatchNormalization's own inference forward
    inv_std = 1.0 / (norm.moving_variance.value + norm.epsilon) ** 0.5
    scale = (norm.gamma.value * inv_std).astype(dtype)                      # s, one per channel
    bias = np.zeros_like(scale) if layer.bias is None else layer.bias.value
    shift = (norm.beta.value - scale * norm.moving_mean.value).astype(dtype)   # t
    # output channel f of the kernel times s[f]: the last axis, or for a depthwise
    # kernel (KH, KW, C, M) the last two, since its output channel c*M + m is [.., c, m]
    kernel = layer.kernel.value * scale.reshape(layer.kernel.value.shape[-2:] if
                                                isinstance(layer, DepthwiseConv2D) else scale.shape)
    folded_bias = (scale * bias + shift).astype(dtype)

    def step(x: np.ndarray) -> np.ndarray:
        z = layer.convolve(x, kernel) if isinstance(layer, Conv2D) else x @ kernel
        if activation is not None:
            return activation(z, folded_bias)
        elementwise.add_bias(z, folded_bias)
        return z
    return step


def _fold(layer: Layer, norm: Layer | None, third: Layer | None,
          images: int) -> tuple[Step, Layer] | None:
    """The folded step for ``layer`` + ``norm`` (+ ``third`` if it is a plain ReLU or
    LeakyReLU) and the last layer it stands for; None when the pair cannot fold
    (not a foldable layer and a BatchNorm, or a hooked layer) or would not pay."""
    if not (_foldable(layer) and isinstance(norm, BatchNormalization)) or _hooked(layer, norm) \
            or not _pays(layer, norm, images):
        return None
    activation = None if _hooked(third) else _bias_then(third)
    return _folded_step(layer, norm, activation), (third if activation is not None else norm)


def folded_plan(layers: list[Layer], images: int) -> list[Step]:
    """The steps of an inference pass of ``images`` images over ``layers``, with every
    foldable pair folded where that pays (:func:`_pays`)."""
    steps: list[Step] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        after = layers[i + 1] if i + 1 < len(layers) else None
        third = layers[i + 2] if i + 2 < len(layers) else None
        folded = _fold(layer, after, third, images)
        if folded is not None:
            steps.append(folded[0])
            i += 3 if folded[1] is third else 2
        else:
            steps.append(lambda x, layer=layer: layer.apply(x, training=False))
            i += 1
    return steps


def run(steps: list[Step], x: np.ndarray) -> np.ndarray:
    """Pass one batch through the steps of :func:`folded_plan`."""
    for step in steps:
        x = step(x)
    return x


# ---------------------------------------------------------------- functional models
# The same folding on a graph: a layer is folded into the BatchNormalization
# after it only when that BatchNormalization is its one reader (and reads
# nothing else), and its output is not one of the model's outputs - then
# nothing else ever needed it. The folded step runs where the layer was
# and writes the BatchNormalization's (or the activation's) output.
GraphStep = tuple[Callable[..., np.ndarray], list[int], int]   # (run, ids of its inputs, id of its output)


def folded_graph_plan(layers: list[Layer], outputs: list[Layer], images: int) -> list[GraphStep]:
    """``layers`` in computing order (each after its inputs); ``outputs`` are the model's."""
    readers: dict[int, list[Layer]] = {}
    for layer in layers:
        for tensor in layer.inbound:
            readers.setdefault(id(tensor.layer), []).append(layer)
    kept = {id(layer) for layer in outputs}

    def sole_reader(layer: Layer) -> Layer | None:
        found = readers.get(id(layer), [])
        if len(found) == 1 and id(layer) not in kept and len(found[0].inbound) == 1:
            return found[0]
        return None

    steps: list[GraphStep] = []
    done: set[int] = set()                   # computed early, by a folded step
    for layer in layers:
        if id(layer) in done:
            continue
        sources = [id(tensor.layer) for tensor in layer.inbound]
        norm = sole_reader(layer) if _foldable(layer) else None
        third = sole_reader(norm) if isinstance(norm, BatchNormalization) else None
        folded = _fold(layer, norm, third, images)
        if folded is not None:
            step, last = folded
            steps.append((step, sources, id(last)))
            done |= {id(norm), id(last)}
        else:
            steps.append((lambda *args, layer=layer: layer.apply(list(args) if layer.multi_input else args[0],
                                                                 training=False), sources, id(layer)))
    return steps


def run_graph(steps: list[GraphStep], input_id: int, x: np.ndarray, output_ids: list[int]) -> list[np.ndarray]:
    """Pass one batch through the steps of :func:`folded_graph_plan`; the model's outputs."""
    values = {input_id: x}
    for step, sources, target in steps:
        values[target] = step(*[values[source] for source in sources])
    return [values[i] for i in output_ids]
