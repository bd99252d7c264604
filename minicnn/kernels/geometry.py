"""Window arithmetic shared by convolution and pooling: output size and padding.

Along one spatial axis, with input size ``n``, window ``k`` and stride ``s``:

``'valid'`` - no padding; only windows that fit entirely::

    out = floor((n - k) / s) + 1           (7 with k=2, s=2 -> 3)

``'same'`` - TensorFlow's rule, for every stride::

    out       = ceil(n / s)
    pad_total = max((out - 1) * s + k - n, 0)
    pad_start = pad_total // 2             top / left
    pad_end   = pad_total - pad_start      bottom / right  (gets the extra pixel)

Example, n=5, k=2, s=1: out=5, pad_total=1 -> 0 rows on top, 1 at the bottom::

    input rows      0 1 2 3 4 [pad]
    window i=0      0 1
    window i=4              4 [pad]
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import ConfigError, ShapeError


class Geometry(NamedTuple):
    """Everything a kernel needs about one 2-D sliding window."""

    out_h: int
    out_w: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int


def output_length(n: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """Return ``(out, pad_start, pad_end)`` for one axis (see module doc)."""
    if padding == "valid":
        out = (n - k) // s + 1 if n >= k else 0
        return out, 0, 0
    if padding == "same":
        out = -(-n // s)  # ceil(n / s) with integers only
        pad_total = max((out - 1) * s + k - n, 0)
        return out, pad_total // 2, pad_total - pad_total // 2
    raise ConfigError(f"padding must be 'valid' or 'same', got {padding!r}")


def window_geometry(
    in_h: int, in_w: int, kernel: tuple[int, int], strides: tuple[int, int], padding: str,
    layer: str = "window",
) -> Geometry:
    """Output size and padding of a 2-D window; raises if no window fits."""
    out_h, top, bottom = output_length(in_h, kernel[0], strides[0], padding)
    out_w, left, right = output_length(in_w, kernel[1], strides[1], padding)
    if out_h <= 0 or out_w <= 0:
        raise ShapeError(
            f"{layer}: a {kernel[0]}x{kernel[1]} window with padding={padding!r} does not fit "
            f"an input of spatial size {in_h}x{in_w} (output would be {out_h}x{out_w})"
        )
    return Geometry(out_h, out_w, top, bottom, left, right)
