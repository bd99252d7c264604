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

from .. import kernels
from ..errors import ConfigError
from .conv2d import Conv2D


class Conv2DTranspose(Conv2D):
    """Transposed 2-D convolution (Keras ``Conv2DTranspose``, channels-last).

    Takes ``Conv2D``'s arguments (and their checks and ``get_config``); the
    weights, the output size and the two passes are its own.
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, **kwargs) -> None:
        super().__init__(filters, kernel_size, strides, padding, **kwargs)
        if output_padding is not None:
            raise ConfigError(f"{self._where()}: output_padding is not supported (only None, "
                              "Keras's default)")

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

    def _backward_from(self, dz: np.ndarray, dbias: np.ndarray | None) -> np.ndarray | None:
        """Store the kernel gradient and ``dbias``; return dL/dx (None if not needed)."""
        geo = self._geometry()
        impl = kernels.active()
        dz = np.ascontiguousarray(dz)
        kh, kw = self.kernel_size
        self.kernel.grad = impl.conv2d_backward_kernel(
            dz, self._x, kh, kw, self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)
        if self.bias is not None:
            self.bias.grad = dbias
        if not self.needs_input_grad:
            return None
        return impl.conv2d_forward(dz, self.kernel.value, self.strides[0], self.strides[1],
                                   geo.pad_top, geo.pad_left, self.input_shape[0], self.input_shape[1])
