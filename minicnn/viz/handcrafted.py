"""Hand-designed filters beside the ones the network learned, and ``overlay``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from .. import filters as hand
from ..errors import ConfigError, ShapeError
from . import draw, probe


class Match(NamedTuple):
    name: str              # the hand-designed filter
    learned: int           # index of the closest learned filter
    cosine: float          # their cosine similarity (1 = same shape of weights)


def first_conv(model) -> str:
    for layer in model.layers:
        if getattr(getattr(layer, "kernel", None), "value", None) is not None \
                and layer.kernel.value.ndim == 4:
            return layer.name
    raise ConfigError(f"model {model.name!r} has no convolution layer")


def learned_2d(model, layer) -> np.ndarray:
    """The learned kernels as 2-D filters ``(count, kh, kw)`` (mean over input channels)."""
    target = model.layers[probe.layer_index(model, layer)]
    kernel = getattr(getattr(target, "kernel", None), "value", None)
    if kernel is None or kernel.ndim != 4:
        raise ConfigError(f"layer {target.name!r} ({type(target).__name__}) has no 4-D kernel")
    return kernel.mean(axis=2).transpose(2, 0, 1)


def closest_learned(model, layer=None, bank: dict | None = None) -> list[Match]:
    """For each hand-designed filter, the learned filter with the highest cosine similarity."""
    layer = layer if layer is not None else first_conv(model)
    learned = learned_2d(model, layer)
    bank = bank if bank is not None else hand.BANK
    matches = []
    for name, make in bank.items():
        kernel = make() if callable(make) else np.asarray(make)
        if kernel.shape != learned.shape[1:]:
            raise ShapeError(f"hand-designed filter {name!r} is {kernel.shape[0]}x{kernel.shape[1]} but layer "
                             f"{layer!r} learned {learned.shape[1]}x{learned.shape[2]} filters")
        scores = [hand.cosine_similarity(kernel, w) for w in learned]
        best = int(np.argmax(scores))
        matches.append(Match(name, best, scores[best]))
    return matches


def handcrafted_vs_learned(model, image: np.ndarray | None = None, layer=None,
                           fig: Figure | None = None) -> Figure:
    """One row per hand-designed filter: it, its closest learned filter and, given an
    image, what each of them makes of it (both through minicnn's conv kernel).

    Kernels and responses are signed, so each is drawn on the diverging map
    centred at 0 (blue < 0, white 0, red > 0); kernels carry their numbers. Each
    panel has a scale of its own: the match is by cosine similarity, which
    ignores size, and a hand-designed Sobel (weights up to 2) would wash out a
    learned filter (weights near 0.3) on a shared scale - the numbers give the
    sizes. A constant kernel (the blur) shows as one colour with its value.
    Learned filters are means over input channels: convolving a grey image
    (every channel equal) with a filter is convolving it with that mean, times
    the channel count, which is what the response column shows.
    """
    layer = layer if layer is not None else first_conv(model)
    learned = learned_2d(model, layer)
    matches = closest_learned(model, layer)
    picture = None
    if image is not None:
        picture = probe.as_batch(model, image)[0].mean(axis=-1)    # grey version, (H, W)
    cols = 4 if picture is not None else 2
    fig, axes = draw.grid(len(matches) * cols, cols, panel=1.6, fig=fig)
    for row, match in enumerate(matches):
        kernel = hand.BANK[match.name]()
        cells = axes[row * cols:(row + 1) * cols]
        for ax, weights in ((cells[0], kernel), (cells[1], learned[match.learned])):
            ax.imshow(weights, cmap=draw.SIGNED_CMAP, interpolation="nearest",
                      **draw.value_scale(weights, signed=True))
            if weights.size <= 25:
                draw.write_values(ax, weights, fontsize=6)
        cells[0].set_title(match.name, fontsize=draw.PANEL_TITLE_SIZE)
        cells[1].set_title(f"learned #{match.learned}, cos {match.cosine:+.2f}", fontsize=draw.PANEL_TITLE_SIZE)
        if picture is not None:
            for ax, weights, title in ((cells[2], kernel, "response"),
                                       (cells[3], learned[match.learned], f"#{match.learned} response")):
                response = hand.apply(picture, weights)
                draw.show_image(ax, response, title=title, cmap=draw.SIGNED_CMAP,
                                **draw.value_scale(response, signed=True))
        for ax in cells[:2]:
            ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"Hand-designed filters and the closest learned filter of {layer}\n"
                 "(blue < 0, white = 0, red > 0; each panel on its own scale)", fontsize=draw.FIGURE_TITLE_SIZE)
    return fig


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.6, cmap: str | None = None,
            title: str | None = None, ax=None, label: str = "value") -> Figure:
    """Draw ``heat`` (any 2-D map; upsampled if smaller) over ``image``, with a colorbar.

    A map of one sign (saliency, Grad-CAM, occlusion's drops) is drawn from 0
    to its largest value on a sequential map (black = 0); a map with both signs
    on the diverging map centred at 0 (blue < 0, red > 0). An all-zero map is
    drawn as zero. ``(H, W, C)`` attributions (integrated gradients) are summed
    over the channels, which keeps their sign and their total: the map still
    adds up to ``F(x) - F(baseline)``. The colorbar carries the map's own values
    (``label`` names them).
    """
    image = np.asarray(image)
    if image.ndim == 4:
        image = image[0]
    heat = np.asarray(heat, dtype=np.float64)
    if heat.ndim == 3:                      # (H, W, C) attributions: their sum over channels
        heat = heat.sum(axis=-1)
    if heat.ndim != 2:
        raise ShapeError(f"overlay: heat map must be 2-D (or (H, W, C)), got shape {heat.shape}")
    height, width = image.shape[:2]
    if heat.shape != (height, width):
        heat = draw.upsample(heat, height, width)
    signed = bool((heat < 0).any())
    scale = draw.value_scale(heat, signed=signed) if signed else {"vmin": 0.0,
                                                                   "vmax": float(heat.max()) or 1.0}
    fig, ax = draw.axes_or_new(ax, (4.2, 3.5))
    draw.show_image(ax, image, title=title)
    ax.imshow(heat, cmap=cmap or (draw.SIGNED_CMAP if signed else draw.HEAT_CMAP), alpha=alpha, **scale)
    draw.colorbar(fig, ax, label)
    return fig
