"""Hand-designed 3x3 filters - where computer vision started before filters were learned.

Each function returns a ``(3, 3)`` float array; :func:`apply` slides it over
an image with minicnn's own convolution kernel (so ``'same'`` padding and the
cross-correlation convention are exactly a Conv2D layer's)::

    from minicnn import filters
    edges = filters.apply(image, filters.sobel_x())

Like every deep-learning "convolution", ``apply`` computes a
cross-correlation: the kernel is not flipped. So ``sobel_x`` (negative
column on the left, positive on the right) is large where the image gets
brighter from left to right - on *vertical* edges.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .errors import ShapeError


def identity() -> np.ndarray:
    """Copies the image (a 1 in the centre)."""
    return np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64)


def sobel_x() -> np.ndarray:
    """Brightness increasing to the right: vertical edges."""
    return np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def sobel_y() -> np.ndarray:
    """Brightness increasing downwards: horizontal edges."""
    return sobel_x().T.copy()


def blur() -> np.ndarray:
    """Box blur: the mean of the 3x3 neighbourhood."""
    return np.full((3, 3), 1.0 / 9.0)


def gaussian_blur(sigma: float = 0.85) -> np.ndarray:
    """Gaussian blur, weights ``exp(-d^2 / (2 sigma^2))`` normalised to sum 1."""
    d = np.arange(-1, 2)
    g = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


def sharpen() -> np.ndarray:
    """The image plus its difference from the neighbours (identity - Laplacian)."""
    return np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)


def laplacian() -> np.ndarray:
    """Second derivative: edges in every direction, zero on flat and linear ramps."""
    return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)


def emboss() -> np.ndarray:
    """Diagonal relief: light from the top-left."""
    return np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64)


BANK = {
    "sobel_x": sobel_x, "sobel_y": sobel_y, "blur": blur, "gaussian_blur": gaussian_blur,
    "sharpen": sharpen, "laplacian": laplacian, "emboss": emboss,
}


def apply(image: np.ndarray, kernel: np.ndarray, padding: str = "same", stride: int = 1) -> np.ndarray:
    """Convolve each channel of ``image`` with the 2-D ``kernel`` (minicnn's Conv2D kernel).

    ``image`` is ``(H, W)`` or ``(H, W, C)``; the result has the same rank.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2:
        raise ShapeError(f"filters.apply: kernel must be 2-D (kh, kw), got shape {kernel.shape}")
    if image.ndim not in (2, 3):
        raise ShapeError(f"filters.apply: image must be (H, W) or (H, W, C), got shape {image.shape}")
    planes = image[..., None] if image.ndim == 2 else image
    h, w, c = planes.shape
    # Each channel is its own one-image batch with one input and one output channel:
    # (H, W, C) -> (C, H, W, 1), kernel (kh, kw) -> (kh, kw, 1, 1).
    batch = np.ascontiguousarray(planes.transpose(2, 0, 1)[..., None])
    geo = kernels.window_geometry(h, w, kernel.shape, (stride, stride), padding, layer="filters.apply")
    out = kernels.active().conv2d_forward(batch, np.ascontiguousarray(kernel[:, :, None, None]),
                                          stride, stride, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)
    out = out[..., 0].transpose(1, 2, 0)         # (C, OH, OW, 1) -> (OH, OW, C)
    return out[..., 0] if image.ndim == 2 else out


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """cos of the angle between two filters seen as vectors (0 if either is all zero)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norms) if norms > 0 else 0.0
