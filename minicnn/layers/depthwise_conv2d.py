"""``DepthwiseConv2D``: one filter (or ``depth_multiplier`` filters) per input channel.

Shapes (NHWC, Keras layout)::

    x        (N, H, W, C)
    kernel   (KH, KW, C, M)     M = depth_multiplier
    bias     (C*M,)
    y        (N, OH, OW, C*M)   output channel c*M + m comes from input channel c

Forward::

    z[n, i, j, c*M + m] = bias[c*M + m] + sum_{p, q} x[n, i*sh + p - pt, j*sw + q - pl, c] * kernel[p, q, c, m]
    y = activation(z)

No sum over channels: each channel is filtered alone (spatial mixing only).
MobileNetV2 pairs it with a 1x1 ``Conv2D`` that mixes channels at each pixel
(channel mixing only) - the two together do the job of one full KxK
convolution for a fraction of the arithmetic.

Backward, from dz = dL/dz: ``dbias = sum over (n, i, j)`` of dz, and::

    dkernel[p, q, c, m] = sum_{n, i, j} x[n, h, w, c] * dz[n, i, j, c*M + m]
    dx[n, h, w, c]      = sum_{i, j, p, q, m} dz[n, i, j, c*M + m] * kernel[p, q, c, m]

(with h = i*sh + p - pt, w = j*sw + q - pl). The loops are in
``minicnn/kernels/depthwise_reference.py`` (plain) and ``depthwise_numba.py``
(jitted); this class swaps them into ``Conv2D``'s three sums (``convolve``,
``kernel_gradient``, ``input_gradient``) and inherits the rest - geometry,
bias, activation, ``forward`` and ``backward``. Parameter count:
KH*KW*C*M + C*M.
"""

from __future__ import annotations

import numpy as np

from .. import initializers, kernels
from ..errors import ConfigError
from .conv2d import Conv2D


class DepthwiseConv2D(Conv2D):
    """Depthwise 2-D convolution (Keras ``DepthwiseConv2D``, channels-last)."""

    def __init__(self, kernel_size, strides=1, padding: str = "valid", depth_multiplier: int = 1,
                 activation: str | None = None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None,
                 name: str | None = None, **kwargs) -> None:
        # Conv2D's constructor is skipped on purpose: there is no ``filters``.
        super(Conv2D, self).__init__(name=name, **kwargs)
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, (int, np.integer)) \
                or depth_multiplier <= 0:
            raise ConfigError(f"{self._where()}: depth_multiplier must be a positive int, "
                              f"got {depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self._configure_window(kernel_size, strides, padding, activation, use_bias,
                               depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer)

    def _out_channels(self, in_channels: int) -> int:
        return in_channels * self.depth_multiplier

    def _create_weights(self, input_shape, rng):
        kh, kw = self.kernel_size
        channels = input_shape[-1]
        self.kernel = self.add_weight("kernel", (kh, kw, channels, self.depth_multiplier),
                                      self.kernel_initializer, rng, regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (channels * self.depth_multiplier,), self.bias_initializer, rng,
                                    regularizer=self.bias_regularizer) if self.use_bias else None

    def convolve(self, x, kernel):
        geo = self.geometry()
        return kernels.active().depthwise_conv2d_forward(
            x, kernel, self.strides[0], self.strides[1], geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)

    def kernel_gradient(self, x, dz):
        geo = self.geometry()
        return kernels.active().depthwise_conv2d_backward_kernel(
            x, dz, self.kernel_size[0], self.kernel_size[1], self.strides[0], self.strides[1],
            geo.pad_top, geo.pad_left)

    def input_gradient(self, dz):
        geo = self.geometry()
        return kernels.active().depthwise_conv2d_backward_input(
            dz, self.kernel.value, self.input_shape[0], self.input_shape[1],
            self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)

    def get_config(self):
        return {"name": self.name, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "depth_multiplier": self.depth_multiplier, "activation": self.activation.name,
                "use_bias": self.use_bias,
                "depthwise_initializer": initializers.name_of(self.kernel_initializer),
                "bias_initializer": initializers.name_of(self.bias_initializer),
                **self._regularizer_config("depthwise_regularizer")}
