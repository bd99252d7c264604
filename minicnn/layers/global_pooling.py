"""``GlobalAveragePooling2D``: one number per channel, the mean over the image.

Shapes::

    x (N, H, W, C)  ->  y (N, C)

Forward:   y[n, c] = (1 / (H*W)) * sum_{h, w} x[n, h, w, c]
Backward:  dx[n, h, w, c] = dy[n, c] / (H*W)      (every pixel shares equally)

No weights. Often used instead of ``Flatten`` before the classifier: it keeps
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
