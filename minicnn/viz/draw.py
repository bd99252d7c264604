"""Small drawing helpers shared by the views: grids, image display, colour scales.

**Colour scales.** Every map is drawn on a scale shared by all the panels of a
figure that show the same quantity (``value_scale``, ``map_style``), with a
colorbar (``colorbar``): signed quantities on ``SIGNED_CMAP`` centred at 0,
others on ``UNSIGNED_CMAP`` (or ``HEAT_CMAP`` over an image). Small arrays carry
their numbers (``write_values``).

Figures are made with ``matplotlib.pyplot`` so that ``plt.show()`` (or a
notebook) displays them, but no view ever calls ``plt.show()`` itself; scripts
save them with ``fig.savefig`` and close them with ``plt.close(fig)``.

**Shown once in a notebook.** A notebook's inline backend draws every open
pyplot figure at the end of a cell, and IPython also draws the cell's last
value - so a view called as the last line of a cell would appear twice.
Every view's figure is a ``ViewFigure``, whose picture, the first time it is
displayed, also closes it in pyplot (``show_once_in_notebooks``), so that
the end-of-cell drawing skips it: ``viz.filters(model, "conv1")``,
``fig = viz.filters(...); plt.show()``, ``fig = ...`` alone and
``fig = ...`` then ``fig`` each show it once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Colour maps, all perceptually uniform: equal steps in value look like equal steps in colour
# (``jet`` does not: its bright yellow and cyan bands show edges that are not in the data).
SIGNED_CMAP = "RdBu_r"      # weights, gradients, signed attributions: blue < 0, white = 0, red > 0
UNSIGNED_CMAP = "viridis"   # activations and other values of one sign
HEAT_CMAP = "inferno"       # a map laid over an image: black (nothing) to yellow (most)
FIGURE_TITLE_SIZE = 11
PANEL_TITLE_SIZE = 9


class ViewFigure(Figure):
    """A matplotlib ``Figure`` that a notebook shows once (see the module docstring)."""


def show_once_in_notebooks() -> None:
    """In an IPython kernel, draw a ``ViewFigure`` as a PNG and close it in pyplot at the same
    time, so that no second picture of it follows at the end of the cell (a no-op outside
    IPython; notebooks set to draw SVG figures keep IPython's own behaviour)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def png_once(figure):
        from IPython.core.pylabtools import print_figure
        plt.close(figure)              # this display is its one: the end-of-cell drawing skips it
        return print_figure(figure, "png", bbox_inches="tight")

    shell.display_formatter.formatters["image/png"].for_type(ViewFigure, png_once)


def new_figure(**kwargs) -> Figure:
    """``plt.figure(**kwargs)``, as a ``ViewFigure`` with matplotlib's constrained layout, which
    places titles and colorbars without overlaps or empty bands."""
    kwargs.setdefault("layout", "constrained")
    return plt.figure(FigureClass=ViewFigure, **kwargs)


def value_scale(values: np.ndarray, signed: bool = False) -> dict[str, float]:
    """``vmin``/``vmax`` for one colour scale shared by every panel that shows ``values``.

    ``signed=True`` centres the scale at 0 (``-m .. m`` with ``m = max |value|``), so that white
    means 0 on a diverging map. A constant array gets a scale around its value (never an empty
    range, which matplotlib would draw as one arbitrary colour).
    """
    values = np.asarray(values)
    if signed:
        limit = float(np.abs(values).max()) if values.size else 0.0
        limit = limit or 1.0
        return {"vmin": -limit, "vmax": limit}
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if high <= low:            # constant: scale from 0 to the value, so it shows at its size
        if low > 0:
            low = 0.0
        elif low < 0:
            high = 0.0
        else:
            high = 1.0
    return {"vmin": low, "vmax": high}


def map_style(values: np.ndarray, cmap: str | None = None) -> tuple[str, dict[str, float]]:
    """The colour map and shared scale for activation-like ``values``: sequential from min to max
    when none is negative (after a ReLU), diverging and centred at 0 when some are (after a
    LeakyReLU, a BatchNorm or no activation), so that white means 0 there. ``cmap`` overrides
    the map, not the scale."""
    signed = bool(np.asarray(values).min() < 0) if np.asarray(values).size else False
    return cmap or (SIGNED_CMAP if signed else UNSIGNED_CMAP), value_scale(values, signed=signed)


def colorbar(fig: Figure, axes, label: str, **kwargs):
    """One colorbar for ``axes`` (a panel or a list of them), drawn from the first panel's image."""
    first = axes[0] if isinstance(axes, (list, tuple, np.ndarray)) else axes
    kwargs.setdefault("shrink", 0.8)
    return fig.colorbar(first.images[-1], ax=axes, label=label, **kwargs)


def flag_all_zero(label: str, values: np.ndarray) -> str:
    """A panel's title, flagged "all 0" when its map is 0 everywhere (behind a ReLU: nothing the
    channel looks for is in the image; on every image: a dead channel, with no gradient)."""
    return label if np.any(values) else f"{label}: all 0"


def range_text(scale: dict[str, float]) -> str:
    """``{"vmin": -0.5, "vmax": 0.5}`` -> ``-0.5 to 0.5``."""
    return f"{scale['vmin']:.3g} to {scale['vmax']:.3g}"


def scale_note(scale: dict[str, float] | None) -> str:
    """What a title says of its panels' colour scale: ``one scale, -0.5 to 0.5``, or,
    with no shared scale (None or empty), ``each panel scaled on its own``."""
    return f"one scale, {range_text(scale)}" if scale else "each panel scaled on its own"


def strongest_input_channel(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each filter of a (kh, kw, in, out) kernel shown by one (kh, kw) tile: the input
    channel where the filter (or its gradient) is largest. Returns (tiles (out, kh, kw),
    channels (out,)). A mean over the input channels would let signs cancel out."""
    channels = np.argmax(np.square(kernel).sum(axis=(0, 1)), axis=0)            # (out,)
    tiles = kernel[:, :, channels, np.arange(kernel.shape[3])].transpose(2, 0, 1)
    return tiles, channels


def write_values(ax: Axes, values: np.ndarray, fmt: str = "{:.2f}", fontsize: float = 6) -> None:
    """Write each value of a small 2-D array on its cell of the panel's image (so a product can be
    checked by hand): black on light cells, white on dark ones."""
    values = np.asarray(values, dtype=np.float64)
    red, green, blue, _ = np.moveaxis(ax.images[-1].to_rgba(values), -1, 0)
    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=fontsize,
                color="white" if dark[i, j] else "black")


def grid(count: int, cols: int, panel: float = 1.4, fig: Figure | None = None,
         title_room: float = 0.5) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` panels in rows of ``cols``; unused cells are hidden."""
    cols = max(1, min(cols, count))
    rows = -(-count // cols)  # ceil(count / cols)
    if fig is None:
        fig = new_figure(figsize=(cols * panel, rows * panel + title_room))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.remove()
    return fig, list(axes[:count])


def axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The caller's axes (and its figure), or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize=figsize)
    return fig, fig.subplots()


def show_image(ax: Axes, image: np.ndarray, title: str | None = None, **kwargs) -> None:
    """Draw an ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` image without axes ticks."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        # matplotlib wants RGB floats in [0, 1]: rescale anything else for display only.
        image = unit_range(image)
        ax.imshow(image, **kwargs)
    else:
        ax.imshow(image, cmap=kwargs.pop("cmap", "gray"), **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=PANEL_TITLE_SIZE)


def unit_range(a: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (for display); a constant array becomes all zeros."""
    a = np.asarray(a, dtype=np.float64)
    low, high = a.min(), a.max()
    return (a - low) / (high - low) if high > low else np.zeros_like(a)


def upsample(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D map to ``(height, width)`` by bilinear interpolation.

    Sample points are the centres of the output pixels mapped into the input's
    pixel grid (the convention of image libraries): output pixel i sits at
    input coordinate ``(i + 0.5) * in / out - 0.5``.
    """
    a = np.asarray(a, dtype=np.float64)
    in_h, in_w = a.shape

    def coords(n_out: int, n_in: int):
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(pos).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, pos - low

    r0, r1, fr = coords(height, in_h)
    c0, c1, fc = coords(width, in_w)
    top = a[r0][:, c0] * (1 - fc) + a[r0][:, c1] * fc
    bottom = a[r1][:, c0] * (1 - fc) + a[r1][:, c1] * fc
    return top * (1 - fr)[:, None] + bottom * fr[:, None]


def shape_text(shape: tuple) -> str:
    """``(28, 28, 32)`` -> ``28x28x32``."""
    return "x".join(str(int(d)) for d in shape)
