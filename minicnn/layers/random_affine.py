"""Random translation, rotation and zoom: augmentation that moves pixels by fractions.

Each layer draws, per image and per training batch, one affine transform
from output pixel coordinates to input coordinates (``minicnn.kernels.resample``
reads the input there, interpolating and filling as told; its jitted twin
``resample_numba`` does the same in one pass). With (i, j) an
output pixel's row and column and ``(cy, cx) = ((H - 1) / 2, (W - 1) / 2)``
the image centre, the transforms are Keras's:

RandomTranslation(height_factor, width_factor): shift by ``dy = u * H``
rows and ``dx = v * W`` columns, u and v uniform in the factor ranges::

    x_in = j - dx,   y_in = i - dy

RandomRotation(factor): turn by ``theta = u * 2 pi`` about the centre::

    x_in = cos(theta) (j - cx) - sin(theta) (i - cy) + cx
    y_in = sin(theta) (j - cx) + cos(theta) (i - cy) + cy

RandomZoom(height_factor, width_factor): ``zy = 1 + u``, ``zx = 1 + v``
(``width_factor=None``: zx = zy, the aspect ratio kept). A factor above 1
reads a larger area into the same pixels - the image shrinks ("zoom out");
below 1, it grows::

    x_in = zx (j - cx) + cx,   y_in = zy (i - cy) + cy

A factor given as one number f means the range (-f, f). Identity at
inference. Backward: the transpose of the sampling (``sample_backward``),
so these layers can sit anywhere in a model, and a gradient view of the
input sees through them.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from .. import kernels
from ..kernels.resample import FILL_MODES, INTERPOLATIONS, sample_backward, sampling_weights
from .augmentation import RandomAugmentation


def factor_range(value, what: str, owner: str, low: float = -1.0) -> tuple[float, float]:
    """f -> (-f, f); (a, b) stays; each end must lie in [low, 1] and a <= b."""
    pair = (-abs(value), abs(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pair) \
            or not low <= pair[0] <= pair[1] <= 1:
        raise ConfigError(f"{owner}: {what} must be a number or a pair (lower, upper) with "
                          f"{low} <= lower <= upper <= 1, got {value!r}")
    return float(pair[0]), float(pair[1])


class RandomAffine(RandomAugmentation):
    """Base class: draw transforms (``transforms``), sample, and sample's transpose."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, name: str | None = None, **kwargs) -> None:
        super().__init__(seed, name, **kwargs)
        if fill_mode not in FILL_MODES:
            raise ConfigError(f"{type(self).__name__} {self.name!r}: fill_mode must be one of {FILL_MODES}, "
                              f"got {fill_mode!r}")
        if interpolation not in INTERPOLATIONS:
            raise ConfigError(f"{type(self).__name__} {self.name!r}: interpolation must be one of "
                              f"{INTERPOLATIONS}, got {interpolation!r}")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def transforms(self, n: int, height: int, width: int) -> np.ndarray:
        """(n, 6) transforms [a0, a1, a2, b0, b1, b2]: x_in = a0 j + a1 i + a2, y_in = b0 j + b1 i + b2."""
        raise NotImplementedError

    def augment(self, x):
        n, h, w, _ = x.shape
        self._transforms = self.transforms(n, h, w)
        return kernels.active().affine_sample(x, self._transforms, self.fill_mode, self.interpolation,
                                              self.fill_value)

    def augment_backward(self, dy):
        _, h, w, _ = dy.shape
        index, weight = sampling_weights(self._transforms, h, w, self.fill_mode, self.interpolation)
        return sample_backward(dy, index, weight)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


def _about_centre(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, height: int, width: int):
    """[a, b, ., c, d, .] applied about the image centre: the offsets that keep the centre fixed."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return np.stack([a, b, cx - a * cx - b * cy, c, d, cy - c * cx - d * cy], axis=1)


class RandomTranslation(RandomAffine):
    def __init__(self, height_factor, width_factor, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, name: str | None = None, **kwargs) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, name, **kwargs)
        self.height_factor = factor_range(height_factor, "height_factor", f"RandomTranslation {self.name!r}")
        self.width_factor = factor_range(width_factor, "width_factor", f"RandomTranslation {self.name!r}")

    def transforms(self, n, height, width):
        dy = self._rng.uniform(*self.height_factor, n) * height
        dx = self._rng.uniform(*self.width_factor, n) * width
        one, zero = np.ones(n), np.zeros(n)
        return np.stack([one, zero, -dx, zero, one, -dy], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor)}


class RandomRotation(RandomAffine):
    def __init__(self, factor, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, name: str | None = None, **kwargs) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, name, **kwargs)
        self.factor = factor_range(factor, "factor", f"RandomRotation {self.name!r}")

    def transforms(self, n, height, width):
        theta = self._rng.uniform(*self.factor, n) * 2 * np.pi
        cos, sin = np.cos(theta), np.sin(theta)
        return _about_centre(cos, -sin, sin, cos, height, width)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(RandomAffine):
    def __init__(self, height_factor, width_factor=None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, name, **kwargs)
        owner = f"RandomZoom {self.name!r}"
        self.height_factor = factor_range(height_factor, "height_factor", owner)
        self.width_factor = None if width_factor is None else factor_range(width_factor, "width_factor", owner)

    def transforms(self, n, height, width):
        zy = 1 + self._rng.uniform(*self.height_factor, n)
        zx = zy if self.width_factor is None else 1 + self._rng.uniform(*self.width_factor, n)
        zero = np.zeros(n)
        return _about_centre(zx, zero, zero, zy, height, width)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor)}
