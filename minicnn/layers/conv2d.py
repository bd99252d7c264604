"""``Conv2D``: a bank of learned filters slid over the image.

Shapes (NHWC, kernel in Keras's layout)::

    x       (N, H, W, C)
    kernel  (KH, KW, C, F)      F = filters
    bias    (F,)
    y       (N, OH, OW, F)      OH, OW from the stride and padding rule
                                (see ``minicnn.kernels.geometry``)

Forward::

    z[n, i, j, f] = bias[f] + sum_{p, q, c} x[n, i*sh + p - pt, j*sw + q - pl, c] * kernel[p, q, c, f]
    y = activation(z)

Backward, from dy = dL/dy::

    dz       = activation.backward(dy)
    dbias[f] = sum_{n, i, j} dz[n, i, j, f]
    dkernel  = correlation of x with dz          (kernel.conv2d_backward_kernel)
    dx       = dz sent back through every tap    (kernel.conv2d_backward_input)

With ReLU or LeakyReLU (and a bias), y is written over z in the same pass
that adds the bias: their backward reads y, and a second array the size of
the output would stay alive until the backward pass. ``preactivation`` is
None then; it holds z for the other activations.

The three sums live in ``minicnn.kernels``; this layer only does the
bookkeeping, so the same layer runs on the reference or the Numba kernels.
Parameter count: KH*KW*C*F + F.
"""

from __future__ import annotations

import numpy as np

from .. import activations, initializers, kernels
from ..kernels import elementwise
from ..errors import ConfigError
from .base import Layer, as_pair, check_padding


class Conv2D(Layer):
    """2-D convolution layer (Keras ``Conv2D``, channels-last)."""

    input_ndim = 4
    #: The kernel functions (in ``minicnn.kernels``) this layer runs;
    #: ``DepthwiseConv2D`` swaps in its own and inherits everything else
    #: (``Conv2DTranspose`` inherits the arguments and overrides the passes).
    _ops = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel")

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ConfigError(f"{self._where()}: filters must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self._configure_window(kernel_size, strides, padding, activation, use_bias,
                               kernel_initializer, bias_initializer)

    def _where(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _configure_window(self, kernel_size, strides, padding, activation, use_bias,
                          kernel_initializer, bias_initializer) -> None:
        """Check and keep the arguments every convolution layer shares."""
        where = self._where()
        self.kernel_size = as_pair(kernel_size, "kernel_size", where)
        self.strides = as_pair(strides, "strides", where)
        self.padding = check_padding(padding, where)
        self.activation = activations.get(activation, where)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def _create_weights(self, input_shape, rng):
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters),
                                      self.kernel_initializer, rng)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, rng) \
            if self.use_bias else None

    def compute_output_shape(self, input_shape):
        geo = kernels.window_geometry(input_shape[0], input_shape[1], self.kernel_size,
                                      self.strides, self.padding, layer=self._describe())
        return (geo.out_h, geo.out_w, self._out_channels(input_shape[-1]))

    def _out_channels(self, in_channels: int) -> int:
        return self.filters

    def _geometry(self) -> kernels.Geometry:
        return kernels.window_geometry(self.input_shape[0], self.input_shape[1], self.kernel_size,
                                       self.strides, self.padding, layer=self._describe())

    def _window(self) -> tuple[int, ...]:
        """(kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w)."""
        geo = self._geometry()
        return (self.kernel_size[0], self.kernel_size[1], self.strides[0], self.strides[1],
                geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)

    def convolve(self, x: np.ndarray, kernel: np.ndarray, window: tuple[int, ...] | None = None) -> np.ndarray:
        """x (*) kernel with this layer's strides and padding: no bias, no activation.

        ``forward`` calls it with the layer's own kernel (and its ``_window()``,
        worked out once per call); a folded inference step
        (``minicnn.model.inference``) with a rescaled one.
        """
        return getattr(kernels.active(), self._ops[0])(x, kernel, *(window or self._window())[2:])

    def _keeps_cols(self, x: np.ndarray, window: tuple[int, ...]) -> bool:
        """Does the backend keep this layer's unrolled input (im2col's cols) in training?"""
        impl = kernels.active()
        if self._ops[0] != "conv2d_forward" or not hasattr(impl, "conv2d_keeps_cols"):
            return False   # DepthwiseConv2D, Conv2DTranspose; the reference and numba backends
        return impl.conv2d_keeps_cols(x.shape, *window, x.itemsize)

    def forward(self, x, training=False):
        self._x = x
        self._cols = None
        window = self._window()
        if training and self._keeps_cols(x, window):
            # a first layer: its unrolled input is kept for the kernel gradient (see conv_im2col)
            z, self._cols = kernels.active().conv2d_forward_keeping_cols(x, self.kernel.value, *window[2:])
        else:
            z = self.convolve(x, self.kernel.value, window)
        # z += bias (broadcast over N, OH, OW), then the activation: one pass over z
        # for ReLU and LeakyReLU, which write y over z (see ActivationFn.forward_with_bias)
        y = self.activation.forward(z) if self.bias is None else \
            self.activation.forward_with_bias(z, self.bias.value)
        # z is kept unless y was written over it (softmax needs it as the logits)
        self.preactivation = None if self.bias is not None and self.activation.in_place else z
        return y

    def backward(self, dy):
        # dz, and dbias = dz summed over every axis but the channels: one pass over
        # dy for ReLU and LeakyReLU (see ActivationFn.backward_with_bias_grad)
        return self._backward_from(*activations.gradient_before(self.activation, dy, self.bias is not None))

    def backward_over(self, dy):
        """``backward``, with dz written over dy where the activation can (Layer.backward_over)."""
        return self._backward_from(*activations.gradient_before(self.activation, dy, self.bias is not None,
                                                                over=True))

    def backward_preactivation(self, dz: np.ndarray) -> np.ndarray:
        """Backward from dL/dz, the gradient before the activation."""
        return self._backward_from(dz, None if self.bias is None else elementwise.channel_sums(dz))

    def _backward_from(self, dz: np.ndarray, dbias: np.ndarray | None) -> np.ndarray | None:
        """Store the kernel gradient and ``dbias``; return dL/dx (None if not needed)."""
        geo = self._geometry()
        impl = kernels.active()
        dz = np.ascontiguousarray(dz)
        kh, kw = self.kernel_size
        if getattr(self, "_cols", None) is not None and hasattr(impl, "conv2d_backward_kernel_from_cols"):
            self.kernel.grad = impl.conv2d_backward_kernel_from_cols(self._cols, dz, kh, kw, self._x.shape[3])
            self._cols = None   # used once: the next backward needs the next forward's
        else:
            self.kernel.grad = getattr(impl, self._ops[2])(
                self._x, dz, kh, kw, self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)
        if self.bias is not None:
            self.bias.grad = dbias
        if not self.needs_input_grad:
            return None  # the first layer in training: dL/d(image) is not needed
        return getattr(impl, self._ops[1])(
            dz, self.kernel.value, self.input_shape[0], self.input_shape[1],
            self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)

    def get_config(self):
        return {"name": self.name, "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "activation": self.activation.name, "use_bias": self.use_bias,
                "kernel_initializer": initializers.name_of(self.kernel_initializer),
                "bias_initializer": initializers.name_of(self.bias_initializer)}
