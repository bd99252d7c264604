"""Merge layers: ``Add`` and ``Concatenate``, the joints of a functional graph.

They take a *list* of tensors (``Add()([a, b])``) and have no weights.

``Add`` - the residual connection of ResNet and MobileNetV2::

    y = x_1 + x_2 + ... + x_k            all of one shape (N, ...)
    dL/dx_i = dy                         for every i: a sum passes its gradient
                                         unchanged to each term

``Concatenate(axis=-1)`` - stacks the inputs along one axis (channels by
default)::

    x_1 (N, H, W, C1), x_2 (N, H, W, C2)  ->  y (N, H, W, C1 + C2)
    dL/dx_1 = dy[..., :C1],  dL/dx_2 = dy[..., C1:]     the gradient is cut
                                                        back into the pieces

When one tensor feeds several layers (a skip connection feeds both the block
and the ``Add``), the model adds up the gradients arriving from each: that
is ``Model.backward``'s job, not these layers'.
"""

from __future__ import annotations

import numpy as np

from .. import config
from ..errors import ConfigError, InputError, ShapeError
from .base import Layer


class _Merge(Layer):
    """Base of the layers whose input is a list of tensors."""

    multi_input = True

    def build(self, input_shapes, rng=None) -> None:
        shapes = [tuple(int(d) for d in shape) for shape in input_shapes]
        if len(shapes) < 2:
            raise ShapeError(f"{self._describe()} merges at least 2 inputs, got {len(shapes)}")
        self.input_shape = shapes  # one shape per input (no batch axis)
        self.output_shape = tuple(self.compute_output_shape(shapes))
        self.dtype = config.float_dtype()
        self.built = True

    def _check_input(self, xs) -> None:
        """``Layer.apply`` runs this before ``forward``: one array per input, each of its shape."""
        if not isinstance(xs, (list, tuple)) or len(xs) != len(self.input_shape):
            raise InputError(f"{self._describe()} expects a list of {len(self.input_shape)} arrays, "
                             f"got {type(xs).__name__}")
        for i, (x, shape) in enumerate(zip(xs, self.input_shape)):
            if not isinstance(x, np.ndarray) or x.shape[1:] != shape:
                raise ShapeError(f"{self._describe()} expects input {i} of shape {(None,) + shape}, "
                                 f"got {getattr(x, 'shape', type(x).__name__)}")


class Add(_Merge):
    """Element-wise sum of inputs of one shape (Keras ``Add``)."""

    def compute_output_shape(self, input_shapes):
        if any(shape != input_shapes[0] for shape in input_shapes):
            raise ShapeError(f"{self._describe()} adds tensors of one shape, got "
                             f"{[(None,) + s for s in input_shapes]}")
        return input_shapes[0]

    def forward(self, xs, training=False):
        y = xs[0].copy()  # a new array: the inputs may be kept by other layers
        for x in xs[1:]:
            y += x
        return y

    def backward(self, dy):
        return [dy] * len(self.input_shape)  # d(x_1 + ... + x_k)/dx_i = 1


class Concatenate(_Merge):
    """Joins inputs along ``axis`` (default: the last, channels) (Keras ``Concatenate``)."""

    def __init__(self, axis: int = -1, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis == 0:
            raise ConfigError(f"Concatenate {self.name!r}: axis must be a non-batch axis (an int "
                              f"other than 0), got {axis!r}")
        self.axis = int(axis)

    def _sample_axis(self, rank: int) -> int:
        """``axis`` counted in a per-sample shape (which has no batch axis)."""
        axis = self.axis - 1 if self.axis > 0 else rank + self.axis
        if not 0 <= axis < rank:
            raise ShapeError(f"{self._describe()}: axis {self.axis} is out of range for inputs "
                             f"of rank {rank + 1}")
        return axis

    def compute_output_shape(self, input_shapes):
        rank = len(input_shapes[0])
        axis = self._sample_axis(rank)
        for shape in input_shapes:
            others = shape[:axis] + shape[axis + 1:]
            if len(shape) != rank or others != input_shapes[0][:axis] + input_shapes[0][axis + 1:]:
                raise ShapeError(f"{self._describe()}: inputs must match except along axis "
                                 f"{self.axis}, got {[(None,) + s for s in input_shapes]}")
        out = list(input_shapes[0])
        out[axis] = sum(shape[axis] for shape in input_shapes)
        return tuple(out)

    def forward(self, xs, training=False):
        return np.concatenate(xs, axis=self._sample_axis(len(self.output_shape)) + 1)

    def backward(self, dy):
        axis = self._sample_axis(len(self.output_shape)) + 1
        # Cut dy where the pieces were joined: at C1, C1 + C2, ...
        cuts = np.cumsum([shape[axis - 1] for shape in self.input_shape])[:-1]
        # Contiguous copies: the pieces feed kernels that expect C-ordered arrays.
        return [np.ascontiguousarray(piece) for piece in np.split(dy, cuts, axis=axis)]

    def get_config(self):
        return {"name": self.name, "axis": self.axis}
