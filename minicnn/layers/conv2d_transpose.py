"""``Conv2DTranspose``: the convolution run backwards - it upsamples.

A ``Conv2D`` with stride s maps a large image to a small one; its input
gradient maps the small one back to the large size. ``Conv2DTranspose`` *is*
that map, used as a forward pass: each input pixel stamps a weighted copy of
the kernel onto the output, s pixels apart, and overlapping stamps add::

    x (N, H, W, C)  ->  y (N, OH, OW, F)        kernel (KH, KW, F, C)   (Keras layout:
                                                                          out channels first)
    'valid':  OH = H*sh + max(KH - sh, 0)
    'same':   OH = H*sh

or, with ``output_padding`` (op, at most sh - 1: which of the sh sizes that a
stride-sh convolution maps to H is wanted), Keras's other rule::

    OH = (H - 1)*sh + KH - 2*pad + op       pad = KH // 2 for 'same', 0 for 'valid'

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
from ..errors import ConfigError, ShapeError
from .base import as_pair
from .conv2d import Conv2D


class Conv2DTranspose(Conv2D):
    """Transposed 2-D convolution (Keras ``Conv2DTranspose``, channels-last).

    Takes ``Conv2D``'s arguments (and their checks and ``get_config``) and
    ``output_padding``; the weights, the output size and the two passes are
    its own.
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, **kwargs) -> None:
        super().__init__(filters, kernel_size, strides, padding, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = as_pair(output_padding, "output_padding", self._where(), minimum=0)
            for op, stride in zip(self.output_padding, self.strides):
                if op >= stride:
                    raise ConfigError(f"{self._where()}: output_padding must be smaller than the "
                                      f"strides {self.strides}, got {self.output_padding}")

    def get_config(self):
        config = super().get_config()
        config["output_padding"] = list(self.output_padding) if self.output_padding else None
        return config

    def _create_weights(self, input_shape, rng):
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, self.filters, input_shape[-1]),
                                      self.kernel_initializer, rng, regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, rng,
                                    regularizer=self.bias_regularizer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        def length(n: int, k: int, s: int, op: int | None) -> int:
            if op is None:
                return n * s + max(k - s, 0) if self.padding == "valid" else n * s
            pad = k // 2 if self.padding == "same" else 0
            return (n - 1) * s + k - 2 * pad + op
        ops = self.output_padding or (None, None)
        out_h, out_w = (length(input_shape[i], self.kernel_size[i], self.strides[i], ops[i]) for i in (0, 1))
        # The layer runs the convolution that maps (OH, OW) back to (H, W); with an
        # even kernel, 'same' and output_padding 0 there is none (TensorFlow fails too).
        geo = kernels.window_geometry(max(out_h, 1), max(out_w, 1), self.kernel_size, self.strides,
                                      self.padding, layer=self._describe())
        if out_h < 1 or out_w < 1 or (geo.out_h, geo.out_w) != tuple(input_shape[:2]):
            raise ShapeError(
                f"{self._where()}: output_padding {self.output_padding} gives an output of "
                f"{out_h}x{out_w}, which a stride-{self.strides} '{self.padding}' convolution maps to "
                f"{geo.out_h}x{geo.out_w}, not back to the input's {input_shape[0]}x{input_shape[1]}; "
                "with an even kernel and 'same' padding, output_padding must be at least 1")
        return (out_h, out_w, self.filters)

    def geometry(self) -> kernels.Geometry:
        """The forward convolution (output size -> input size) this layer transposes."""
        out_h, out_w, _ = self.output_shape
        return kernels.window_geometry(out_h, out_w, self.kernel_size, self.strides, self.padding,
                                       layer=self._describe())

    # Conv2D's forward and backward, with its three sums swapped as the
    # module docstring says: x and the output trade places.
    def convolve(self, x, kernel):
        """The stamping: Conv2D's input gradient, with x in the place of dz."""
        geo = self.geometry()
        out_h, out_w, _ = self.output_shape
        return kernels.active().conv2d_backward_input(
            np.ascontiguousarray(x), kernel, out_h, out_w,
            self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)

    def kernel_gradient(self, x, dz):
        """Conv2D's kernel gradient with the roles of x and dz swapped."""
        geo = self.geometry()
        return kernels.active().conv2d_backward_kernel(
            np.ascontiguousarray(dz), x, self.kernel_size[0], self.kernel_size[1],
            self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)

    def input_gradient(self, dz):
        """A plain convolution of dz with the kernel."""
        geo = self.geometry()
        return kernels.active().conv2d_forward(
            np.ascontiguousarray(dz), self.kernel.value, self.strides[0], self.strides[1],
            geo.pad_top, geo.pad_left, self.input_shape[0], self.input_shape[1])
