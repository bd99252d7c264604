"""Global pooling: one number per channel, from the whole image.

Shapes::

    x (N, H, W, C)  ->  y (N, C)

``GlobalAveragePooling2D``, the mean over the image::

    forward:   y[n, c] = (1 / (H*W)) * sum_{h, w} x[n, h, w, c]
    backward:  dx[n, h, w, c] = dy[n, c] / (H*W)      (every pixel shares equally)

``GlobalMaxPooling2D``, the largest value::

    forward:   y[n, c] = max_{h, w} x[n, h, w, c]
    backward:  dx[n, h, w, c] = dy[n, c] / k[n, c]    where x[n, h, w, c] == y[n, c], else 0

with k[n, c] the number of pixels that reach the maximum: tied maxima share
the gradient equally, as in TensorFlow's gradient of ``reduce_max`` (which
Keras's layer uses). ``MaxPooling2D`` differs: its windows send the whole
gradient to one pixel.

No weights. Often used instead of ``Flatten`` before the classifier: they keep
one feature per filter whatever the image size.
"""

from __future__ import annotations

import numpy as np

from .base import Layer


class GlobalAveragePooling2D(Layer):
    input_ndim = 4

    def compute_output_shape(self, input_shape):
        return (input_shape[2],)

    def forward(self, x, training=False):
        return x.mean(axis=(1, 2))

    def backward(self, dy):
        h, w, c = self.input_shape
        # (N, C) -> (N, 1, 1, C) -> broadcast to (N, H, W, C)
        return np.broadcast_to((dy / (h * w))[:, None, None, :], (dy.shape[0], h, w, c)).copy()


GlobalAvgPool2D = GlobalAveragePooling2D


class GlobalMaxPooling2D(Layer):
    input_ndim = 4

    def compute_output_shape(self, input_shape):
        return (input_shape[2],)

    def forward(self, x, training=False):
        self._x = x
        y = x.max(axis=(1, 2))
        self._y = y        # for backward
        return y

    def backward(self, dy):
        # (N, C) -> (N, 1, 1, C), compared with / broadcast over every pixel of (N, H, W, C)
        winners = self._x == self._y[:, None, None, :]
        ties = winners.sum(axis=(1, 2))                          # k: at least 1 (0 only for a NaN)
        with np.errstate(divide="ignore", invalid="ignore"):     # a NaN maximum gives a NaN gradient
            share = (dy / ties).astype(dy.dtype, copy=False)
        return np.where(winners, share[:, None, None, :], dy.dtype.type(0))


GlobalMaxPool2D = GlobalMaxPooling2D
