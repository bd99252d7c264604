"""``Conv2DTranspose``: the convolution run backwards - it upsamples.

A ``Conv2D`` with stride s maps a large image to a small one; its input
gradient maps the small one back to the large size. ``Conv2DTranspose`` *is*
that map, used as a forward pass: each input pixel stamps a weighted copy of
the kernel onto the output, s pixels apart, and overlapping stamps add::

    x (N, H, W, C)  ->  y (N, OH, OW, F)        kernel (KH, KW, F, C)   (Keras layout:
                                                                          out channels first)
    'valid':  OH = H*sh + max(KH - sh, 0)
    'same':   OH = H*sh

    y[n, i*sh + p - pt, j*sw + q - pl, f] += x[n, i, j, c] * kernel[p, q, f, c]

where (pt, pl) is the padding of the *forward* convolution that maps an
(OH, OW) image back to (H, W) with the same kernel, stride and padding rule.
So every formula is one of ``Conv2D``'s, with x and y swapping roles::

    forward   y       = conv2d_backward_input(x, kernel)      (the stamping above)
    backward  dx      = conv2d_forward(dy, kernel)            (a plain convolution of dy)
              dkernel = conv2d_backward_kernel(dy, x)          (the same correlation, roles swapped)

and every kernel implementation (reference, Numba, im2col) serves both
layers unchanged. Parameter count: KH*KW*F*C + F.
"""

from __future__ import annotations

import numpy as np

from .. import activations, initializers, kernels
from ..errors import ConfigError
from .base import Layer, as_pair, check_padding


class Conv2DTranspose(Layer):
    """Transposed 2-D convolution (Keras ``Conv2DTranspose``, channels-last)."""

    input_ndim = 4

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        where = f"Conv2DTranspose {self.name!r}"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ConfigError(f"{where}: filters must be a positive int, got {filters!r}")
        if output_padding is not None:
            raise ConfigError(f"{where}: output_padding is not supported (only None, Keras's default)")
        self.filters = int(filters)
        self.kernel_size = as_pair(kernel_size, "kernel_size", where)
        self.strides = as_pair(strides, "strides", where)
        self.padding = check_padding(padding, where)
        self.activation = activations.get(activation, f"{type(self).__name__} {self.name!r}")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def _create_weights(self, input_shape, rng):
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, self.filters, input_shape[-1]),
                                      self.kernel_initializer, rng)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, rng) \
            if self.use_bias else None

    def compute_output_shape(self, input_shape):
        def length(n: int, k: int, s: int) -> int:
            return n * s + max(k - s, 0) if self.padding == "valid" else n * s
        return (length(input_shape[0], self.kernel_size[0], self.strides[0]),
                length(input_shape[1], self.kernel_size[1], self.strides[1]), self.filters)

    def _geometry(self) -> kernels.Geometry:
        """The forward convolution (output size -> input size) this layer transposes."""
        out_h, out_w, _ = self.output_shape
        return kernels.window_geometry(out_h, out_w, self.kernel_size, self.strides, self.padding,
                                       layer=self._describe())

    def forward(self, x, training=False):
        self._x = x
        geo = self._geometry()
        out_h, out_w, _ = self.output_shape
        z = kernels.active().conv2d_backward_input(
            np.ascontiguousarray(x), self.kernel.value, out_h, out_w,
            self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)
        if self.bias is not None:
            z += self.bias.value
        self.preactivation = z
        return self.activation.forward(z)

    def backward(self, dy):
        return self.backward_preactivation(self.activation.backward(dy))

    def backward_preactivation(self, dz: np.ndarray) -> np.ndarray:
        """Backward from dL/dz, the gradient before the activation."""
        geo = self._geometry()
        impl = kernels.active()
        dz = np.ascontiguousarray(dz)
        kh, kw = self.kernel_size
        self.kernel.grad = impl.conv2d_backward_kernel(
            dz, self._x, kh, kw, self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)
        if self.bias is not None:
            self.bias.grad = dz.sum(axis=(0, 1, 2))
        if not self.needs_input_grad:
            return None
        return impl.conv2d_forward(dz, self.kernel.value, self.strides[0], self.strides[1],
                                   geo.pad_top, geo.pad_left, self.input_shape[0], self.input_shape[1])

    def get_config(self):
        return {"name": self.name, "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "activation": self.activation.name, "use_bias": self.use_bias,
                "kernel_initializer": initializers.name_of(self.kernel_initializer),
                "bias_initializer": initializers.name_of(self.bias_initializer)}
