"""Which input pixels can one unit see? Theory (layer arithmetic) vs backprop.

**Theoretical field.** A layer with window ``k``, stride ``s`` and padding
``p`` (rows added at the top) maps output rows ``a..b`` to input rows::

    first = a * s - p
    last  = b * s - p + k - 1

Start from the unit's own row ``i..i`` and apply this from the chosen layer
down to the input (and the same for columns); clip to the image. Layers
without a window (BatchNorm, activations, Dropout) leave the range alone.

**Effective field.** Backpropagate a 1 placed on the unit (every channel at
that position, or one channel) to the input, and look where |d unit / d x|
is not zero, summed over a few images. It can never leave the theoretical
box; inside it, it is usually concentrated near the centre (Luo et al. 2016).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import seeding
from ..errors import ConfigError, ShapeError
from . import draw, probe


class ReceptiveField(NamedTuple):
    """Boxes are ``(top, left, bottom, right)``, inclusive input pixel indices."""

    layer: str
    position: tuple[int, int]
    theoretical: tuple[int, int, int, int]      # clipped to the image
    size: tuple[int, int]                       # unclipped field size (rows, cols)
    jump: tuple[int, int]                       # input pixels between neighbouring units
    effective: np.ndarray                       # (H, W): sum over images of |d unit / d x|
    effective_box: tuple[int, int, int, int] | None


def _window(layer) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
    """``(window, strides, (pad_top, pad_left))`` of a windowed layer, else None."""
    kind = type(layer).__name__
    if kind == "ZeroPadding2D":   # a 1x1 window that shifts positions by the top/left padding
        (top, _), (left, _) = layer.padding
        return (1, 1), (1, 1), (top, left)
    if kind == "Conv2DTranspose":
        raise ConfigError(f"receptive_field: layer {layer.name!r} is a transposed convolution "
                          "(it spreads each input over several outputs); not supported")
    size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if size is None:
        return None
    geo = layer.geometry()
    return tuple(size), tuple(layer.strides), (geo.pad_top, geo.pad_left)


def theoretical_field(model, layer, position: tuple[int, int]):
    """``(box, size, jump)`` of the unit at ``position`` of ``layer`` (see module doc)."""
    index = probe.layer_index(model, layer)
    target = model.layers[index]
    if len(target.output_shape) != 3:
        raise ShapeError(f"receptive_field: layer {target.name!r} outputs {target.output_shape}; "
                         "only (H, W, C) outputs have positions")
    row, col = position
    if not (0 <= row < target.output_shape[0] and 0 <= col < target.output_shape[1]):
        raise ShapeError(f"receptive_field: position {position} is outside layer {target.name!r}'s "
                         f"{target.output_shape[0]}x{target.output_shape[1]} output")
    for below, current in zip(model.layers[:index], model.layers[1:index + 1]):
        if current.inbound is not None and [t.layer for t in current.inbound] != [below]:
            raise ConfigError(f"receptive_field: the theoretical field is worked out for a chain of "
                              f"layers; layer {current.name!r} reads "
                              f"{[t.layer.name for t in current.inbound]}, not just {below.name!r}; "
                              "branching graphs are not supported")
    rows, cols = [row, row], [col, col]
    size, jump = [1, 1], [1, 1]
    for current in reversed(model.layers[:index + 1]):
        if len(current.input_shape) != 3:
            raise ShapeError(f"receptive_field: layer {current.name!r} below {target.name!r} "
                             "mixes all positions (it is not spatial)")
        window = _window(current)
        if window is None:
            continue
        (kh, kw), (sh, sw), (pt, pl) = window
        rows = [rows[0] * sh - pt, rows[1] * sh - pt + kh - 1]
        cols = [cols[0] * sw - pl, cols[1] * sw - pl + kw - 1]
    # Size and jump bottom-up: r_out = r_in + (k - 1) * j_in; j_out = j_in * s.
    for current in model.layers[:index + 1]:
        window = _window(current)
        if window is not None:
            (kh, kw), (sh, sw), _ = window
            size = [size[0] + (kh - 1) * jump[0], size[1] + (kw - 1) * jump[1]]
            jump = [jump[0] * sh, jump[1] * sw]
    height, width = model.input_shape[:2]
    box = (max(rows[0], 0), max(cols[0], 0), min(rows[1], height - 1), min(cols[1], width - 1))
    return box, tuple(size), tuple(jump)


def compute_receptive_field(model, layer, position: tuple[int, int], channel: int | None = None,
                            images: np.ndarray | None = None, samples: int = 8,
                            seed: int | None = 0) -> ReceptiveField:
    """Both fields of one unit; ``images`` default to ``samples`` uniform random images."""
    box, size, jump = theoretical_field(model, layer, position)
    name = model.layers[probe.layer_index(model, layer)].name
    if images is None:
        rng = np.random.default_rng(seed) if seed is not None else seeding.global_rng()
        images = rng.uniform(0, 1, size=(samples,) + tuple(model.input_shape))
    x = probe.as_batch(model, images)
    out = probe.forward_to(model, x, layer)[name]
    seed_grad = np.zeros_like(out)
    if channel is None:
        seed_grad[:, position[0], position[1], :] = 1.0
    elif 0 <= channel < out.shape[-1]:
        seed_grad[:, position[0], position[1], channel] = 1.0
    else:
        raise ConfigError(f"receptive_field: layer {name!r} has {out.shape[-1]} channels, got {channel}")
    effective = np.abs(probe.backward_from(model, layer, seed_grad)).sum(axis=(0, -1))
    rows, cols = np.nonzero(effective)
    found = (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())) if len(rows) else None
    return ReceptiveField(name, tuple(position), box, size, jump, effective, found)


def receptive_field(model, layer, position: tuple[int, int], image: np.ndarray | None = None,
                    channel: int | None = None, ax=None) -> Figure:
    """Draw the theoretical box (green) and the effective field (heat) on the input."""
    field = compute_receptive_field(model, layer, position, channel)
    fig, ax = draw.axes_or_new(ax, (4.5, 4.5))
    background = probe.as_batch(model, image)[0] if image is not None else \
        np.full(tuple(model.input_shape[:2]), 0.5)
    draw.show_image(ax, background)
    ax.imshow(field.effective, cmap=draw.HEAT_CMAP, alpha=0.6, **draw.value_scale(field.effective))
    draw.colorbar(fig, ax, "|d unit / d pixel|, summed")
    top, left, bottom, right = field.theoretical
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                           fill=False, edgecolor="lime", linewidth=2))
    ax.set_title(f"{field.layer} unit {field.position}: theoretical field {field.size[0]}x{field.size[1]} "
                 f"(green),\njump {field.jump[0]}, effective |d unit/d x| (heat)", fontsize=draw.PANEL_TITLE_SIZE)
    return fig
