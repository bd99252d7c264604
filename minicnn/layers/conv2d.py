"""``Conv2D``: a bank of learned filters slid over the image.

Shapes (NHWC, kernel in Keras's layout)::

    x       (N, H, W, C)
    kernel  (KH, KW, C, F)      F = filters
    bias    (F,)
    y       (N, OH, OW, F)      OH, OW from the stride and padding rule
                                (see ``minicnn/kernels/geometry.py``)

Forward::

    z[n, i, j, f] = bias[f] + sum_{p, q, c} x[n, i*sh + p - pt, j*sw + q - pl, c] * kernel[p, q, c, f]
    y = activation(z)

Backward, from dy = dL/dy::

    dz       = activation.backward(dy)
    dbias[f] = sum_{n, i, j} dz[n, i, j, f]
    dkernel  = correlation of x with dz:  dkernel[p, q, c, f] = sum_{n, i, j} x[n, h, w, c] * dz[n, i, j, f]
    dx       = dz sent back through every tap:  dx[n, h, w, c] += dz[n, i, j, f] * kernel[p, q, c, f]

(h = i*sh + p - pt, w = j*sw + q - pl). The three sums are kernels:
``minicnn/kernels/conv_reference.py`` writes them as plain loops that read
like these formulas; ``set_backend`` picks that file, its Numba twin or the
im2col + BLAS version (the default), all tested to agree. Parameter count:
KH*KW*C*F + F.
"""

from __future__ import annotations

import numpy as np

from .. import activations, initializers, kernels, regularizers
from ..errors import ConfigError
from .base import Layer, as_pair, check_padding


class Conv2D(Layer):
    """2-D convolution layer (Keras ``Conv2D``, channels-last)."""

    input_ndim = 4

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ConfigError(f"{self._where()}: filters must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self._configure_window(kernel_size, strides, padding, activation, use_bias,
                               kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer)

    def _where(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _configure_window(self, kernel_size, strides, padding, activation, use_bias,
                          kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer) -> None:
        """Check and keep the arguments every convolution layer shares."""
        where = self._where()
        self.kernel_size = as_pair(kernel_size, "kernel_size", where)
        self.strides = as_pair(strides, "strides", where)
        self.padding = check_padding(padding, where)
        self.activation = activations.get(activation, where)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer, where)
        self.bias_regularizer = regularizers.get(bias_regularizer, where)

    def _create_weights(self, input_shape, rng):
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters),
                                      self.kernel_initializer, rng, regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, rng,
                                    regularizer=self.bias_regularizer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        geo = kernels.window_geometry(input_shape[0], input_shape[1], self.kernel_size,
                                      self.strides, self.padding, layer=self._describe())
        return (geo.out_h, geo.out_w, self._out_channels(input_shape[-1]))

    def _out_channels(self, in_channels: int) -> int:
        return self.filters

    def geometry(self) -> kernels.Geometry:
        """Output size and padding of this layer's window over its input."""
        return kernels.window_geometry(self.input_shape[0], self.input_shape[1], self.kernel_size,
                                       self.strides, self.padding, layer=self._describe())

    # ------------------------------------------------------------------ the passes
    def forward(self, x, training=False):
        self._x = x                                      # dkernel needs it
        z = self.convolve(x, self.kernel.value)          # the sum over each window
        if self.bias is not None:
            z = z + self.bias.value                      # one bias per output channel
        self.preactivation = z
        return self.activation.forward(z)

    def backward(self, dy):
        return self.backward_preactivation(self.activation.backward(dy))

    def backward_preactivation(self, dz: np.ndarray) -> np.ndarray:
        """The backward pass from dz = dL/dz, the gradient before the activation
        (where a loss computed from the logits starts: see ``minicnn.losses``)."""
        if self.bias is not None:
            # a sum of N*OH*OW values: added up in float64, so that no digit is lost
            self.bias.grad = dz.sum(axis=(0, 1, 2), dtype=np.float64).astype(dz.dtype)
        self.kernel.grad = self.kernel_gradient(self._x, dz)
        return self.input_gradient(dz)

    # ------------------------------------------------------------------ the three sums
    # One call each into the kernels of the backend chosen with set_backend
    # (their loops: minicnn/kernels/conv_reference.py). DepthwiseConv2D and
    # Conv2DTranspose override these three and inherit everything else.
    def convolve(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """x (*) kernel with this layer's strides and padding: no bias, no activation."""
        geo = self.geometry()
        return kernels.active().conv2d_forward(
            x, kernel, self.strides[0], self.strides[1], geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)

    def kernel_gradient(self, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
        """dL/dkernel: the correlation of the input x with dz."""
        geo = self.geometry()
        return kernels.active().conv2d_backward_kernel(
            x, dz, self.kernel_size[0], self.kernel_size[1], self.strides[0], self.strides[1],
            geo.pad_top, geo.pad_left)

    def input_gradient(self, dz: np.ndarray) -> np.ndarray:
        """dL/dx: dz sent back through every tap of the kernel."""
        geo = self.geometry()
        return kernels.active().conv2d_backward_input(
            dz, self.kernel.value, self.input_shape[0], self.input_shape[1],
            self.strides[0], self.strides[1], geo.pad_top, geo.pad_left)

    def get_config(self):
        return {"name": self.name, "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "activation": self.activation.name, "use_bias": self.use_bias,
                "kernel_initializer": initializers.name_of(self.kernel_initializer),
                "bias_initializer": initializers.name_of(self.bias_initializer),
                **self._regularizer_config()}

    def _regularizer_config(self, kernel_key: str = "kernel_regularizer") -> dict:
        """The regularizers, for ``get_config`` (left out when there are none)."""
        config = {}
        if self.kernel_regularizer is not None:
            config[kernel_key] = regularizers.serialize(self.kernel_regularizer)
        if self.bias_regularizer is not None:
            config["bias_regularizer"] = regularizers.serialize(self.bias_regularizer)
        return config
