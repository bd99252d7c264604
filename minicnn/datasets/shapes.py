"""``load_shapes``: a built-in, offline, deterministic dataset of geometric shapes.

Ten classes of white-ish shapes on a dark, noisy background, each at a random
position, size, thickness and brightness::

    0 filled circle     1 ring              2 filled square    3 outlined square
    4 filled triangle   5 outlined triangle 6 plus             7 x-cross
    8 horizontal stripes                    9 vertical stripes

Every image is drawn from a *signed distance*: for each pixel, how far it is
inside (positive) or outside (negative) the shape's edge. A filled shape is
``distance >= 0``; an outline of thickness t is ``0 <= distance <= t``. The
classes differ in exactly what early CNN filters detect - edges, corners,
orientations, fill - so the learned filters are easy to interpret.

The same ``seed`` always gives the same images, on any machine.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

CLASS_NAMES = ("filled circle", "ring", "filled square", "outlined square", "filled triangle",
               "outlined triangle", "plus", "x-cross", "horizontal stripes", "vertical stripes")


def _signed_distance(kind: str, dx: np.ndarray, dy: np.ndarray, r: np.ndarray,
                     t: np.ndarray) -> np.ndarray:
    """Positive inside the shape, in pixels. dx, dy: (n, size, size) offsets
    from each shape's centre; r, t: (n, 1, 1) radius and stroke thickness."""
    if kind == "circle":
        return r - np.hypot(dx, dy)
    if kind == "square":
        return r - np.maximum(np.abs(dx), np.abs(dy))
    if kind == "triangle":
        # Upward equilateral triangle with circumradius r (image y points down).
        # Its inradius is r/2 and its outward edge normals are n = (0, 1) and
        # (+-sqrt(3)/2, -1/2), so the distance inside each edge is r/2 - n.(dx, dy).
        s3 = np.sqrt(3.0) / 2
        base = r / 2 - dy
        right = r / 2 - (s3 * dx - 0.5 * dy)
        left = r / 2 - (-s3 * dx - 0.5 * dy)
        return np.minimum(np.minimum(base, right), left)
    if kind == "plus":
        bar_h = np.minimum(t - np.abs(dy), r - np.abs(dx))
        bar_v = np.minimum(t - np.abs(dx), r - np.abs(dy))
        return np.maximum(bar_h, bar_v)
    if kind == "cross":
        a, b = (dx + dy) / np.sqrt(2), (dx - dy) / np.sqrt(2)
        reach = 0.8 * r * np.sqrt(2)
        return np.maximum(np.minimum(t - np.abs(a), reach - np.abs(b)),
                          np.minimum(t - np.abs(b), reach - np.abs(a)))
    raise ValueError(kind)


def _draw_class(label: int, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """n images (n, size, size) in [0, 1] of one class."""
    r = rng.uniform(0.22, 0.36, (n, 1, 1)) * size
    cx = rng.uniform(r[:, 0, 0] + 1, size - r[:, 0, 0] - 1)[:, None, None]
    cy = rng.uniform(r[:, 0, 0] + 1, size - r[:, 0, 0] - 1)[:, None, None]
    t = rng.uniform(0.06, 0.1, (n, 1, 1)) * size  # stroke thickness
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    dx, dy = xx[None] - cx, yy[None] - cy
    kind = ("circle", "circle", "square", "square", "triangle", "triangle",
            "plus", "cross", "square", "square")[label]
    d = _signed_distance(kind, dx, dy, r, t)
    if label in (1, 3, 5):                     # outlines: a band just inside the edge
        mask = (d >= 0) & (d <= t)
    elif label in (8, 9):                      # stripes inside a square patch
        along = dy if label == 8 else dx
        period = rng.uniform(0.14, 0.2, (n, 1, 1)) * size
        mask = (d >= 0) & (np.floor(along / (period / 2)) % 2 == 0)
    else:
        mask = d >= 0
    fg = rng.uniform(0.65, 1.0, (n, 1, 1))
    bg = rng.uniform(0.0, 0.25, (n, 1, 1))
    img = np.where(mask, fg, bg) + rng.normal(0, 0.06, (n, size, size))
    return np.clip(img, 0, 1)


def load_shapes(n: int = 6000, size: int = 28, seed: int = 0, test_fraction: float = 0.2):
    """Generate the shapes dataset: ``(x_train, y_train), (x_test, y_test)``.

    Parameters
    ----------
    n : int
        Total number of images (train + test), split evenly over the 10 classes.
    size : int
        Height and width in pixels (at least 16).
    seed : int
        The same seed always gives the same images.
    test_fraction : float
        Share of the images held out for testing.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 images of shape (N, size, size, 1) and int64 labels 0..9
        (names in ``CLASS_NAMES``).
    """
    if n < 20 or size < 16 or not 0 < test_fraction < 1:
        raise ConfigError(f"load_shapes: need n >= 20, size >= 16 and 0 < test_fraction < 1; "
                          f"got n={n}, size={size}, test_fraction={test_fraction}")
    rng = np.random.default_rng(seed)
    per_class = [n // 10 + (1 if k < n % 10 else 0) for k in range(10)]
    images = np.concatenate([_draw_class(k, m, size, rng) for k, m in enumerate(per_class)])
    labels = np.repeat(np.arange(10), per_class)
    order = rng.permutation(n)
    x = np.round(images[order] * 255).astype(np.uint8)[..., None]
    y = labels[order].astype(np.int64)
    n_test = max(int(round(n * test_fraction)), 1)
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])
