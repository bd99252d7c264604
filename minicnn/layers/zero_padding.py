"""``ZeroPadding2D``: a frame of zeros around every feature map.

With padding ((top, bottom), (left, right)), each (H, W) map grows to
(top + H + bottom, left + W + right)::

    x (N, H, W, C)  ->  y (N, top+H+bottom, left+W+right, C)
    y[:, top:top+H, left:left+W, :] = x,   zeros elsewhere

Backward: the zeros are constants, so only the copied window carries a
gradient - dx is that window of dy::

    dx = dy[:, top:top+H, left:left+W, :]

MobileNetV2 pads like this before its stride-2 convolutions ("valid"
padding after an explicit frame), instead of using 'same'.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .base import Layer


def _as_padding(padding, where: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's three forms: ``p``, ``(ph, pw)``, ``((top, bottom), (left, right))``."""
    def ok(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
    if ok(padding):
        p = int(padding)
        return (p, p), (p, p)
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(ok(v) for v in padding):
            return (int(padding[0]),) * 2, (int(padding[1]),) * 2
        if all(isinstance(v, (tuple, list)) and len(v) == 2 and all(ok(u) for u in v) for v in padding):
            return (int(padding[0][0]), int(padding[0][1])), (int(padding[1][0]), int(padding[1][1]))
    raise ConfigError(f"{where}: padding must be a non-negative int, a pair of them, or "
                      f"((top, bottom), (left, right)); got {padding!r}")


class ZeroPadding2D(Layer):
    input_ndim = 4

    def __init__(self, padding=(1, 1), name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.padding = _as_padding(padding, f"ZeroPadding2D {self.name!r}")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        h, w, c = input_shape
        return (top + h + bottom, left + w + right, c)

    def forward(self, x, training=False):
        (top, _), (left, _) = self.padding
        h, w = x.shape[1:3]
        y = np.zeros((x.shape[0],) + self.output_shape, dtype=x.dtype)
        y[:, top:top + h, left:left + w, :] = x
        return y

    def backward(self, dy):
        (top, _), (left, _) = self.padding
        h, w = self.input_shape[:2]
        return dy[:, top:top + h, left:left + w, :].copy()

    def get_config(self):
        return {"name": self.name, "padding": [list(self.padding[0]), list(self.padding[1])]}
