"""The steps of a fast plan: one per layer, composed from the plain layer's own pieces.

A step runs one layer of ``minicnn/layers`` with that layer's weights and
its ``Parameter.grad`` slots, and gives the numbers its plain ``forward`` and
``backward`` give (``tests/test_plan_agreement.py``). It keeps what its
backward needs on itself, never on the layer. Each step class names the
plain piece it accelerates:

==================  ===========================================================
step                accelerates
==================  ===========================================================
``ConvStep``        ``Conv2D``/``DepthwiseConv2D``/``Conv2DTranspose``: bias +
                    ReLU/LeakyReLU in one pass written over z; activation
                    gradient + bias gradient in one pass (over dy when the
                    plan says dy is free); the input gradient skipped when the
                    plan says nothing upstream learns; a first Conv2D keeps
                    its unrolled input (``first_layer.py``). The three sums
                    are the layer's own ``convolve``, ``kernel_gradient``,
                    ``input_gradient``.
``DenseStep``       ``Dense``: the same, with its three matrix products.
``BatchNormStep``   ``BatchNormalization``: the two-pass kernels of
                    ``batchnorm.py``; dx written over dy when it is free.
``ActivationStep``  ``ReLU`` (ReLU6 too)/``LeakyReLU`` layers: one-pass kernels,
                    y written over x when the plan says x is this step's alone.
``PlainStep``       any other layer, or one with a forward hook: its own
                    ``apply`` and ``backward``.
==================  ===========================================================
"""

from __future__ import annotations

import numpy as np

from .. import config
from ..activations import LeakyReLU, ReLU
from ..layers.activation_layers import _ActivationLayer
from ..layers.base import Layer
from ..layers.batch_norm import BatchNormalization
from ..layers.conv2d import Conv2D
from ..layers.conv2d_transpose import Conv2DTranspose
from ..layers.dense import Dense
from ..layers.depthwise_conv2d import DepthwiseConv2D
from . import batchnorm, elementwise, first_layer


def writable(a: np.ndarray, dtype: np.dtype) -> bool:
    """Can a kernel write its result over ``a``: contiguous, writeable, of the result's dtype?"""
    return a.flags.c_contiguous and a.flags.writeable and a.dtype == dtype


class ReluFamily:
    """ReLU (capped or not) or LeakyReLU as the one-pass kernels of ``elementwise.py``.

    Their backward reads y, never x (y > 0 exactly where x > 0, and for a cap,
    y < cap exactly where x < cap), so y may be written over x. ``slope`` is
    None for ReLU; ``cap`` is ReLU's ``max_value`` (ReLU6: 6), or None.
    """

    def __init__(self, slope: float | None, cap: float | None = None) -> None:
        self.slope, self.cap = slope, cap

    def forward(self, x: np.ndarray, over: bool = False) -> np.ndarray:
        out = x if over else None
        if self.cap is not None:
            return elementwise.capped_relu_forward(x, self.cap, out=out)
        if self.slope is None:
            return elementwise.relu_forward(x, out=out)
        return elementwise.leaky_relu_forward(x, self.slope, out=out)

    def forward_with_bias(self, z: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """f(z + bias), written over z."""
        if self.cap is not None:           # no fused kernel for the cap: two passes over z
            elementwise.add_bias(z, bias)
            return self.forward(z, over=writable(z, z.dtype))
        if self.slope is None:
            return elementwise.bias_relu_forward(z, bias)
        return elementwise.bias_leaky_relu_forward(z, bias, self.slope)

    def backward(self, dy: np.ndarray, y: np.ndarray, over: bool = False) -> np.ndarray:
        out = dy if over else None
        if self.cap is not None:
            return elementwise.capped_relu_backward(dy, y, self.cap, out=out)
        if self.slope is None:
            return elementwise.relu_backward(dy, y, out=out)
        return elementwise.leaky_relu_backward(dy, y, self.slope, out=out)

    def backward_with_bias_grad(self, dy: np.ndarray, y: np.ndarray,
                                over: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(dz, dbias) in one pass over dy (two for a capped ReLU)."""
        if self.cap is not None:
            dz = self.backward(dy, y, over)
            return dz, elementwise.channel_sums(dz)
        out = dy if over else None
        if self.slope is None:
            return elementwise.relu_backward_bias_grad(dy, y, out=out)
        return elementwise.leaky_relu_backward_bias_grad(dy, y, self.slope, out=out)


def relu_family(fn) -> ReluFamily | None:
    """The fused kernels for an activation function, or None if it has none (tanh, softmax, ...)."""
    if type(fn) is ReLU:
        return ReluFamily(None, fn.max_value)
    if type(fn) is LeakyReLU:
        return ReluFamily(fn.negative_slope)
    return None


class Step:
    """One layer of a plan. The plan sets the two flags after building every step."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        #: False when nothing upstream learns: the step may skip dL/dx and return None.
        self.input_gradient_needed = True
        #: True when the input array is this step's alone: the forward may write over it.
        self.may_overwrite_input = False
        #: z of the last forward, where a loss computed from logits starts (None if y was written over it).
        self.preactivation: np.ndarray | None = None

    #: Does the backward read the forward's output? (If not, a later step may write over it.)
    reads_its_output = True

    def forward(self, x, training: bool):
        raise NotImplementedError

    def backward(self, dy: np.ndarray, dy_is_free: bool):
        raise NotImplementedError

    def backward_preactivation(self, dz: np.ndarray):
        """The backward pass from dz = dL/dz (the logits shortcut)."""
        return self.layer.backward_preactivation(dz)


class PlainStep(Step):
    """The layer's own methods: for layers the plan does not accelerate, and hooked layers."""

    def forward(self, x, training):
        y = self.layer.apply(x, training=training)
        self.preactivation = getattr(self.layer, "preactivation", None)
        return y

    def backward(self, dy, dy_is_free):
        return self.layer.backward(dy)


class ConvStep(Step):
    """A convolution layer with its bias and activation fused (see the module table)."""

    def __init__(self, layer: Layer) -> None:
        super().__init__(layer)
        self.relu = relu_family(layer.activation)
        self.reads_its_output = layer.activation.name != "linear"

    # the three sums: the plain layer's own (Dense overrides them with its products)
    def linear(self, x: np.ndarray, training: bool) -> np.ndarray:
        layer = self.layer
        self.cols = None
        if training and type(layer) is Conv2D and config.get_backend() == "im2col":
            geo = layer.geometry()
            if first_layer.keeps_cols(x.shape, layer.kernel_size, layer.strides, geo, x.itemsize):
                z, self.cols = first_layer.forward_keeping_cols(x, layer.kernel.value, layer.strides, geo)
                return z
        return layer.convolve(x, layer.kernel.value)

    def kernel_gradient(self, dz: np.ndarray) -> np.ndarray:
        if self.cols is not None:
            cols, self.cols = self.cols, None      # used once: the next backward needs the next forward's
            return first_layer.kernel_gradient_from_cols(cols, dz, self.layer.kernel.value.shape)
        return self.layer.kernel_gradient(self.x, dz)

    def input_gradient(self, dz: np.ndarray) -> np.ndarray:
        return self.layer.input_gradient(dz)

    def bias_gradient(self, dz: np.ndarray) -> np.ndarray:
        return elementwise.channel_sums(dz)

    # the passes
    def forward(self, x, training):
        layer = self.layer
        # what the backward reads is kept in training only: in predict, an array
        # kept until the next batch would keep its memory out of reuse
        self.x = x if training else None
        z = self.linear(x, training)
        bias = None if layer.bias is None else layer.bias.value
        if self.relu is not None:
            # y = f(z + bias) written over z: the backward reads y alone
            self.preactivation = None
            if bias is not None:
                y = self.relu.forward_with_bias(z, bias)
            else:
                y = self.relu.forward(z, over=writable(z, z.dtype))
            self.y = y if training else None
            return y
        if bias is not None:
            elementwise.add_bias(z, bias)
        self.preactivation = z
        return layer.activation.forward(z)

    def backward(self, dy, dy_is_free):
        if self.relu is None:
            return self.backward_preactivation(self.layer.activation.backward(dy))
        over = dy_is_free and writable(dy, self.y.dtype)
        if self.layer.bias is None:
            return self._backward_from(self.relu.backward(dy, self.y, over), None)
        return self._backward_from(*self.relu.backward_with_bias_grad(dy, self.y, over))

    def backward_preactivation(self, dz):
        return self._backward_from(dz, None if self.layer.bias is None else self.bias_gradient(dz))

    def _backward_from(self, dz: np.ndarray, dbias: np.ndarray | None):
        layer = self.layer
        dz = np.ascontiguousarray(dz)
        if layer.bias is not None:
            layer.bias.grad = dbias
        layer.kernel.grad = self.kernel_gradient(dz)
        self.x = None
        return self.input_gradient(dz) if self.input_gradient_needed else None


class DenseStep(ConvStep):
    """``Dense`` with its bias and activation fused: ConvStep with Dense's three products."""

    def linear(self, x, training):
        self.cols = None
        return x @ self.layer.kernel.value

    def kernel_gradient(self, dz):
        return self.x.T @ dz

    def input_gradient(self, dz):
        return dz @ self.layer.kernel.value.T



class BatchNormStep(Step):
    """``BatchNormalization`` in the two-pass kernels of ``batchnorm.py``."""

    reads_its_output = False      # its backward reads x and the batch statistics

    def forward(self, x, training):
        layer = self.layer
        x2d = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        gamma, beta = layer.gamma.value, layer.beta.value
        if not training:
            inv_std = 1.0 / np.sqrt(layer.moving_variance.value + layer.epsilon)
            return batchnorm.normalize(x2d, layer.moving_mean.value, inv_std, gamma, beta).reshape(x.shape)
        y, mean, var, self.inv_std = batchnorm.forward(x2d, gamma, beta, layer.epsilon)
        self.x2d, self.mean = x2d, mean
        layer.update_moving_statistics(mean, var)
        return y.reshape(x.shape)

    def backward(self, dy, dy_is_free):
        layer = self.layer
        over = dy_is_free and writable(dy, self.x2d.dtype)
        dx, layer.gamma.grad, layer.beta.grad = batchnorm.backward(
            dy.reshape(-1, dy.shape[-1]), self.x2d, self.mean, layer.gamma.value, self.inv_std, over=over)
        self.x2d = None
        return dx.reshape(dy.shape)


class ActivationStep(Step):
    """A ``ReLU``/``LeakyReLU`` layer in one-pass kernels; y over x when x is free."""

    def __init__(self, layer: Layer, relu: ReluFamily) -> None:
        super().__init__(layer)
        self.relu = relu

    def forward(self, x, training):
        y = self.relu.forward(x, over=self.may_overwrite_input and writable(x, x.dtype))
        self.y = y if training else None
        return y

    def backward(self, dy, dy_is_free):
        return self.relu.backward(dy, self.y, over=dy_is_free and writable(dy, self.y.dtype))

    def backward_preactivation(self, dz):
        return dz


def step_for(layer: Layer) -> Step:
    """The fast step of one layer. Exact types only: a user's subclass runs as itself."""
    if layer._hooks:
        return PlainStep(layer)      # a hook must see the layer's own input and output
    kind = type(layer)
    if kind in (Conv2D, DepthwiseConv2D, Conv2DTranspose):
        return ConvStep(layer)
    if kind is Dense:
        return DenseStep(layer)
    if kind is BatchNormalization and layer.trainable:
        return BatchNormStep(layer)   # a frozen one runs in inference mode: its plain methods
    if isinstance(layer, _ActivationLayer):
        relu = relu_family(layer.fn)
        if relu is not None:
            return ActivationStep(layer, relu)
    return PlainStep(layer)
