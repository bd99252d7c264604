"""Rescaling and Resizing: fixed preprocessing inside the model (Keras's layers).

Putting the preprocessing in the model means a saved model takes raw pixels
and nobody has to remember to divide by 255 before ``predict``. Both layers
act in training and at inference alike, and have no weights.

Rescaling(scale, offset)::

    y = x * scale + offset            dx = dy * scale
    (scale=1/255: pixels to [0, 1];  scale=1/127.5, offset=-1: to [-1, 1])

Resizing(height, width, interpolation="bilinear", crop_to_aspect_ratio=False):
each image resized with TensorFlow's half-pixel centres
(``minicnn.kernels.resample.resize_matrix``). Resizing is linear and acts on
rows and columns separately, so with R_rows (height x H) and R_columns
(width x W)::

    y[n, :, :, c] = R_rows @ x[n, :, :, c] @ R_columns.T
    dx[n, :, :, c] = R_rows.T @ dy[n, :, :, c] @ R_columns

``crop_to_aspect_ratio=True`` first takes the largest centred window with
the target's aspect ratio, so that nothing is stretched.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..kernels.resample import INTERPOLATIONS, resize_matrix
from .augmentation import _centred_window
from .base import Layer


class Rescaling(Layer):
    def __init__(self, scale: float, offset: float = 0.0, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        for what, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"Rescaling {self.name!r}: {what} must be a finite number, got {value!r}")
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x, training=False):
        return x * x.dtype.type(self.scale) + x.dtype.type(self.offset)

    def backward(self, dy):
        return dy * dy.dtype.type(self.scale)

    def get_config(self):
        return {"name": self.name, "scale": self.scale, "offset": self.offset}


class Resizing(Layer):
    input_ndim = 4

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        for what, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"Resizing {self.name!r}: {what} must be a positive int, got {value!r}")
        if interpolation not in INTERPOLATIONS:
            raise ConfigError(f"Resizing {self.name!r}: interpolation must be one of {INTERPOLATIONS}, "
                              f"got {interpolation!r}")
        self.height, self.width = int(height), int(width)
        self.interpolation, self.crop_to_aspect_ratio = interpolation, bool(crop_to_aspect_ratio)

    def _create_weights(self, input_shape, rng):
        h, w = input_shape[:2]
        self._window = _centred_window(h, w, self.height, self.width) if self.crop_to_aspect_ratio \
            else (0, 0, h, w)
        _, _, rows, cols = self._window
        self._row_matrix = resize_matrix(rows, self.height, self.interpolation)
        self._column_matrix = resize_matrix(cols, self.width, self.interpolation)

    def compute_output_shape(self, input_shape):
        return (self.height, self.width, input_shape[-1])

    def forward(self, x, training=False):
        top, left, rows, cols = self._window
        window = x[:, top:top + rows, left:left + cols]
        return np.einsum("ih,nhwc,jw->nijc", self._row_matrix.astype(x.dtype), window,
                         self._column_matrix.astype(x.dtype), optimize=True)

    def backward(self, dy):
        top, left, rows, cols = self._window
        dx = np.zeros((len(dy),) + self.input_shape, dtype=dy.dtype)
        dx[:, top:top + rows, left:left + cols] = np.einsum(
            "ih,nijc,jw->nhwc", self._row_matrix.astype(dy.dtype), dy, self._column_matrix.astype(dy.dtype),
            optimize=True)
        return dx

    def get_config(self):
        return {"name": self.name, "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio}
