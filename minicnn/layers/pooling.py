"""``MaxPooling2D`` and ``AveragePooling2D``: shrink each feature map by windows.

Shapes::

    x (N, H, W, C)  ->  y (N, OH, OW, C)      channels are pooled independently

``pool_size`` is the window, ``strides`` the step (default: the window, so
windows tile the image without overlap), ``padding`` the Keras rule: with
``'valid'`` the last incomplete window is dropped (7 rows, pool 2 -> 3 rows),
with ``'same'`` the output has ceil(H / stride) rows and padding cells take
no part in the max or the average.

Forward and backward formulas, and the tie rule of max pooling (the first
maximum in row-major order gets all the gradient, as in TensorFlow), are in
``minicnn.kernels.pool_reference``. No weights: parameter count 0.
"""

from __future__ import annotations

from .. import kernels
from .base import Layer, as_pair, check_padding


class _Pooling2D(Layer):
    input_ndim = 4

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        where = f"{type(self).__name__} {self.name!r}"
        self.pool_size = as_pair(pool_size, "pool_size", where)
        self.strides = as_pair(strides, "strides", where) if strides is not None else self.pool_size
        self.padding = check_padding(padding, where)

    def _geometry(self, input_shape) -> kernels.Geometry:
        return kernels.window_geometry(input_shape[0], input_shape[1], self.pool_size,
                                       self.strides, self.padding, layer=self._describe())

    def compute_output_shape(self, input_shape):
        geo = self._geometry(input_shape)
        return (geo.out_h, geo.out_w, input_shape[2])

    def geometry(self) -> kernels.Geometry:
        """Output size and padding of the pooling window over this layer's input."""
        return self._geometry(self.input_shape)

    def get_config(self):
        return {"name": self.name, "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """Keep the largest value of each window (Keras ``MaxPooling2D``)."""

    def forward(self, x, training=False):
        (ph, pw), (sh, sw), geo = self.pool_size, self.strides, self.geometry()
        y, self._argmax = kernels.active().max_pool2d_forward(
            x, ph, pw, sh, sw, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)
        return y

    def backward(self, dy):
        (ph, pw), (sh, sw), geo = self.pool_size, self.strides, self.geometry()
        in_h, in_w, _ = self.input_shape
        return kernels.active().max_pool2d_backward(
            dy.astype(self.dtype, copy=False), self._argmax, in_h, in_w, ph, pw, sh, sw,
            geo.pad_top, geo.pad_left)


class AveragePooling2D(_Pooling2D):
    """Average each window (Keras ``AveragePooling2D``)."""

    def forward(self, x, training=False):
        (ph, pw), (sh, sw), geo = self.pool_size, self.strides, self.geometry()
        return kernels.active().avg_pool2d_forward(
            x, ph, pw, sh, sw, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)

    def backward(self, dy):
        (ph, pw), (sh, sw), geo = self.pool_size, self.strides, self.geometry()
        in_h, in_w, _ = self.input_shape
        return kernels.active().avg_pool2d_backward(
            dy.astype(self.dtype, copy=False), in_h, in_w, ph, pw, sh, sw, geo.pad_top, geo.pad_left)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
