"""Data augmentation: random flips, crops and contrast changes, in training only.

Why augment: a network that sees each training image only as it is learns
that exact image; shown a slightly changed copy every epoch (mirrored,
shifted, darker), it has to learn what stays the same - the object - and it
generalises better. The changes must keep the label true: a mirrored cat is
still a cat (an upside-down 6 is a 9, so no vertical flips for digits).

Every layer here is the identity at inference (``training=False``: predict,
evaluate), draws new random changes for every batch in training, one per
image, from its own generator (``seed=``, or drawn from the model's; saved
in model files, so a resumed run draws the same changes), and has Keras's
name and arguments. The geometric ones that move pixels by fractions
(translation, rotation, zoom) are in ``random_affine.py``.

RandomFlip (``mode`` "horizontal", "vertical" or "horizontal_and_vertical";
each image flipped with probability 1/2 along each named axis)::

    horizontal:  y[n, i, j, c] = x[n, i, W - 1 - j, c]

    backward: the same flip of dy (a flip is a permutation of the pixels).

RandomCrop(height, width): a window of that size at a random place::

    training:   y[n] = x[n, r_n : r_n + height, c_n : c_n + width]     r_n, c_n uniform
    backward:   dx[n] = 0, with dy[n] put back where its window was
    inference:  the largest centred window with the target's aspect ratio,
                resized to (height, width) (as Keras), so the model sees the
                whole object at the scale it was trained on

RandomContrast(factor): per image a factor f in [1 - lower, 1 + upper]::

    m[n, c] = mean over (i, j) of x[n, i, j, c]
    y = clip((x - m) * f + m, value_range)       (value_range (0, 255): images in pixel units)

    backward, with g = dy where y was not clipped, else 0:
    dx = f * g + (1 - f) * mean over (i, j) of g      (m depends on every pixel)
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..kernels.resample import resize_matrix
from .random_layer import RandomLayer


class RandomAugmentation(RandomLayer):
    """Base class: a generator of its own (``RandomLayer``) and the training/inference switch."""

    input_ndim = 4

    def forward(self, x, training=False):
        self._changed = training
        return self.augment(x) if training else x

    def backward(self, dy):
        return self.augment_backward(dy) if self._changed else dy

    def augment(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def augment_backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "seed": self.seed}


class RandomFlip(RandomAugmentation):
    _MODES = {"horizontal": (False, True), "vertical": (True, False), "horizontal_and_vertical": (True, True)}

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(seed, name, **kwargs)
        if mode not in self._MODES:
            raise ConfigError(f"RandomFlip {self.name!r}: mode must be one of {sorted(self._MODES)}, got {mode!r}")
        self.mode = mode

    def augment(self, x):
        rows, cols = self._MODES[self.mode]
        n = len(x)
        self._upside_down = self._rng.random(n) < 0.5 if rows else np.zeros(n, bool)
        self._mirrored = self._rng.random(n) < 0.5 if cols else np.zeros(n, bool)
        return self._flip(x)

    def _flip(self, a: np.ndarray) -> np.ndarray:
        out = a.copy()
        out[self._upside_down] = out[self._upside_down, ::-1]
        out[self._mirrored] = out[self._mirrored, :, ::-1]
        return out

    augment_backward = _flip   # a flip undoes itself

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _centred_window(height: int, width: int, target_h: int, target_w: int) -> tuple[int, int, int, int]:
    """(top, left, rows, cols) of the largest centred window with the target's aspect ratio."""
    rows = max(min(height, int(width * target_h / target_w)), 1)
    cols = max(min(width, int(height * target_w / target_h)), 1)
    return (height - rows) // 2, (width - cols) // 2, rows, cols


class RandomCrop(RandomAugmentation):
    def __init__(self, height: int, width: int, seed: int | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(seed, name, **kwargs)
        for what, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"RandomCrop {self.name!r}: {what} must be a positive int, got {value!r}")
        self.height, self.width = int(height), int(width)

    def compute_output_shape(self, input_shape):
        return (self.height, self.width, input_shape[-1])

    def forward(self, x, training=False):
        h, w = x.shape[1:3]
        self._training_crop = training and h >= self.height and w >= self.width
        if self._training_crop:
            self._tops = self._rng.integers(0, h - self.height + 1, len(x))
            self._lefts = self._rng.integers(0, w - self.width + 1, len(x))
            return np.stack([image[t:t + self.height, l:l + self.width]
                             for image, t, l in zip(x, self._tops, self._lefts)])
        top, left, rows, cols = _centred_window(h, w, self.height, self.width)
        self._window = (top, left, rows, cols)
        self._row_matrix = resize_matrix(rows, self.height).astype(x.dtype)
        self._column_matrix = resize_matrix(cols, self.width).astype(x.dtype)
        window = x[:, top:top + rows, left:left + cols]
        return np.einsum("ih,nhwc,jw->nijc", self._row_matrix, window, self._column_matrix, optimize=True)

    def backward(self, dy):
        n, (h, w, c) = len(dy), self.input_shape
        dx = np.zeros((n, h, w, c), dtype=dy.dtype)
        if self._training_crop:
            for image, t, l, g in zip(dx, self._tops, self._lefts, dy):
                image[t:t + self.height, l:l + self.width] = g
        else:
            top, left, rows, cols = self._window
            dx[:, top:top + rows, left:left + cols] = np.einsum("ih,nijc,jw->nhwc", self._row_matrix, dy,
                                                                self._column_matrix, optimize=True)
        return dx

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomContrast(RandomAugmentation):
    def __init__(self, factor, value_range=(0, 255), seed: int | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(seed, name, **kwargs)
        pair = (factor, factor) if isinstance(factor, (int, float)) and not isinstance(factor, bool) else factor
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or \
                not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in pair):
            raise ConfigError(f"RandomContrast {self.name!r}: factor must be a number or a pair in [0, 1], "
                              f"got {factor!r}")
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or value_range[0] >= value_range[1]:
            raise ConfigError(f"RandomContrast {self.name!r}: value_range must be (low, high), got {value_range!r}")
        self.factor = (float(pair[0]), float(pair[1]))
        self.value_range = (float(value_range[0]), float(value_range[1]))

    def augment(self, x):
        f = self._rng.uniform(1 - self.factor[0], 1 + self.factor[1], (len(x), 1, 1, 1)).astype(x.dtype)
        mean = x.mean(axis=(1, 2), keepdims=True)
        z = (x - mean) * f + mean
        self._f = f
        self._unclipped = (z >= self.value_range[0]) & (z <= self.value_range[1])
        return np.clip(z, *self.value_range).astype(x.dtype, copy=False)

    def augment_backward(self, dy):
        g = dy * self._unclipped
        return self._f * g + (1 - self._f) * g.mean(axis=(1, 2), keepdims=True)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
