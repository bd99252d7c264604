"""The seed notebooks' views of one trained network, one call each.

Each function takes a model and an image (``(H, W, C)``, or a batch whose
first sample is used), runs one inference-mode forward pass with
``probe.forward_to`` and returns a ``matplotlib.figure.Figure``::

    feature_maps(model, image, "conv1")       every channel of one layer
    filters(model, "conv1")                   the learned kernels
    layer_progression(model, image)           input -> channel mean of each layer
    dense_activations(model, image, "dense")  one bar per unit, with statistics
    class_probabilities(model, image)         the softmax output, coloured
    compare_images(model, images, layers)     rows = images, columns = layers
    activation_heatmaps(model, image, layers) where each layer responds, on the image
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError, ShapeError
from . import draw, probe


def _one_image(model, image: np.ndarray) -> np.ndarray:
    return probe.as_batch(model, image)[:1]


def _layer_output(model, image: np.ndarray, layer) -> tuple[str, np.ndarray]:
    """Name and output (batch axis dropped) of ``layer`` for one image."""
    x = _one_image(model, image)
    name = model.layers[probe.layer_index(model, layer)].name
    return name, probe.forward_to(model, x, layer)[name][0]


def spatial_layers(model) -> list[str]:
    """Names of the layers whose output is a stack of 2-D maps ``(H, W, C)``."""
    return [layer.name for layer in model.layers if len(layer.output_shape) == 3]


def feature_maps(model, image: np.ndarray, layer, max_maps: int = 32, cols: int = 8,
                 cmap: str | None = None, fig: Figure | None = None,
                 per_panel_scale: bool = False) -> Figure:
    """Every channel (up to ``max_maps``) of ``layer``'s output, one panel each.

    All panels share one colour scale, shown by the colorbar, so that a weak
    channel looks weak and a strong one strong (``per_panel_scale=True``
    stretches each panel on its own instead, which shows the pattern of a weak
    channel but not its size). Outputs that are never negative (after a ReLU)
    are drawn on a sequential map; outputs with negative values (after a
    LeakyReLU or a BatchNorm) on a diverging one centred at 0 (``cmap``
    overrides the map). A channel that is 0 everywhere on this image (after a
    ReLU: nothing it looks for is there) is titled "all 0".
    """
    name, out = _layer_output(model, image, layer)
    if out.ndim != 3:
        raise ShapeError(f"feature_maps: layer {name!r} outputs shape {out.shape}, not (H, W, C) maps; "
                         f"layers with maps: {spatial_layers(model)}")
    count = min(max_maps, out.shape[-1])
    cmap, scale = draw.map_style(out[:, :, :count], cmap)
    fig, axes = draw.grid(count, cols, fig=fig)
    silent = 0
    for channel, ax in enumerate(axes):
        values = out[:, :, channel]
        silent += not values.any()
        draw.show_image(ax, values, title=draw.flag_all_zero(str(channel), values), cmap=cmap,
                        **({} if per_panel_scale else scale))
    if not per_panel_scale:
        draw.colorbar(fig, axes, "activation")
    shown = f", first {count}" if count < out.shape[-1] else ""
    zeros = f"; {silent} all 0" if silent else ""
    how = draw.scale_note(None if per_panel_scale else scale)
    fig.suptitle(f"{name}: feature maps {draw.shape_text(out.shape)} ({out.shape[-1]} channels{shown}{zeros}; "
                 f"{how})", fontsize=draw.FIGURE_TITLE_SIZE)
    return fig


def filters(model, layer, max_filters: int = 64, cols: int = 8, fig: Figure | None = None) -> Figure:
    """The kernels of a Conv2D layer, on one scale centred at 0.

    Weights are signed, so they are drawn on a diverging map (blue negative,
    white 0, red positive) with one scale for all filters and a colorbar; a
    constant kernel (a blur) shows its value, not a blank. Kernels up to 5x5
    carry their numbers, so a product with an image patch can be checked by
    hand. A filter reads every input channel: with one channel, that one is
    shown; with many, the input channel of largest norm (its title says which:
    a mean over 64 channels would show nothing the filter does). A first layer
    with 3 input channels is drawn in colour instead, each filter a tiny RGB
    image on one scale where grey is 0.
    """
    target = model.layers[probe.layer_index(model, layer)]
    kernel = getattr(getattr(target, "kernel", None), "value", None)
    if kernel is None or kernel.ndim != 4:
        raise ConfigError(f"filters: layer {target.name!r} ({type(target).__name__}) has no 4-D kernel")
    kh, kw, channels, count = kernel.shape
    shown = min(count, max_filters)
    fig, axes = draw.grid(shown, cols, panel=1.1, fig=fig)
    scale = draw.value_scale(kernel[..., :shown], signed=True)
    largest = scale["vmax"]
    tiles, strongest = draw.strongest_input_channel(kernel[..., :shown])
    for f, ax in enumerate(axes):
        if channels == 3:
            ax.imshow(0.5 + kernel[:, :, :, f] / (2 * largest), interpolation="nearest")
            ax.set_title(str(f), fontsize=draw.PANEL_TITLE_SIZE)
        else:
            tile = tiles[f]
            ax.imshow(tile, cmap=draw.SIGNED_CMAP, interpolation="nearest", **scale)
            ax.set_title(str(f) if channels == 1 else f"{f} (in {strongest[f]})", fontsize=draw.PANEL_TITLE_SIZE)
            if kh * kw <= 25:
                draw.write_values(ax, tile, fontsize=5)
        ax.set_xticks([]), ax.set_yticks([])
    if channels != 3:
        draw.colorbar(fig, axes, "weight")
    how = ("RGB, grey = 0" if channels == 3 else "one input channel" if channels == 1
           else f"of {channels} input channels, the one of largest norm")
    fig.suptitle(f"{target.name}: {shown} of {count} filters {kh}x{kw} ({how}; one scale, |w| <= {largest:.3g})",
                 fontsize=draw.FIGURE_TITLE_SIZE)
    return fig


def _spatial_outputs(model, outputs: dict, layers: Sequence, view: str) -> list[tuple[str, np.ndarray]]:
    """(name, output) of each chosen layer, checked to be a stack of (H, W, C) maps."""
    chosen = []
    for layer in layers:
        name = model.layers[probe.layer_index(model, layer)].name
        if outputs[name].ndim != 4:
            raise ShapeError(f"{view}: layer {name!r} outputs {outputs[name].shape[1:]}, not (H, W, C) maps")
        chosen.append((name, outputs[name]))
    return chosen


def layer_progression(model, image: np.ndarray, layers: Sequence | None = None,
                      fig: Figure | None = None, per_panel_scale: bool = False) -> Figure:
    """The input, then the channel-mean map of each chosen layer (default: all spatial ones).

    The maps share one colour scale and a colorbar, so that a layer whose
    activations are small looks small (``per_panel_scale=True`` stretches each).
    """
    x = _one_image(model, image)
    layers = list(layers) if layers is not None else spatial_layers(model)
    chosen = _spatial_outputs(model, probe.forward_to(model, x), layers, "layer_progression")
    maps = [out[0].mean(axis=-1) for _, out in chosen]
    cmap, scale = draw.map_style(np.concatenate([m.ravel() for m in maps])) if maps else (None, {})
    fig, axes = draw.grid(len(chosen) + 1, len(chosen) + 1, panel=2.2, fig=fig)
    draw.show_image(axes[0], x[0], title=f"input\n{draw.shape_text(x.shape[1:])}")
    for ax, (name, out), mean_map in zip(axes[1:], chosen, maps):
        draw.show_image(ax, mean_map, title=draw.flag_all_zero(f"{name}\n{draw.shape_text(out.shape[1:])}", mean_map),
                        cmap=cmap, **({} if per_panel_scale else scale))
    if chosen and not per_panel_scale:
        draw.colorbar(fig, axes[1:], "mean activation over channels")
    how = draw.scale_note(None if per_panel_scale else scale)
    fig.suptitle(f"Layer by layer: mean over channels ({how})", fontsize=draw.FIGURE_TITLE_SIZE)
    return fig


def dense_activations(model, image: np.ndarray, layer, threshold: float = 0.1,
                      ax=None) -> Figure:
    """One bar per unit of a 1-D layer output, with min/max/mean/std and the active count."""
    name, out = _layer_output(model, image, layer)
    if out.ndim != 1:
        raise ShapeError(f"dense_activations: layer {name!r} outputs shape {out.shape}; it needs a 1-D output")
    fig, ax = draw.axes_or_new(ax, (10, 3.5))
    ax.bar(np.arange(len(out)), out, color=np.where(out > threshold, "tab:blue", "lightgray"))
    ax.set_xlabel("unit")
    ax.set_ylabel("activation")
    active = int((out > threshold).sum())
    ax.set_title(f"{name}: {len(out)} units   min {out.min():.3f}  max {out.max():.3f}  "
                 f"mean {out.mean():.3f}  std {out.std():.3f}  active (> {threshold}) {active}/{len(out)}",
                 fontsize=draw.PANEL_TITLE_SIZE + 1)
    return fig


def class_probabilities(model, image: np.ndarray, true_label: int | None = None,
                        class_names: Sequence[str] | None = None, ax=None) -> Figure:
    """The model's output as bars: predicted class green, true class red when different.

    Every bar carries its value, so that a confident 100% still shows what
    the other classes got (0.0% is a value too, and a small one can matter).
    """
    x = _one_image(model, image)
    probs = model.predict(x, verbose=0)[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(probs))]
    if len(names) != len(probs):
        raise ShapeError(f"class_probabilities: {len(names)} class names for {len(probs)} outputs")
    fig, ax = draw.axes_or_new(ax, (8, 3.5))
    colours = ["tab:gray"] * len(probs)
    predicted = int(probs.argmax())
    if true_label is not None and int(true_label) != predicted:
        colours[int(true_label)] = "tab:red"
    colours[predicted] = "tab:green"
    bars = ax.bar(np.arange(len(probs)), probs, color=colours)
    ax.bar_label(bars, labels=[_percent(p) for p in probs], fontsize=8, padding=1)
    ax.set_xticks(np.arange(len(probs)), names, rotation=45, ha="right", fontsize=9)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("probability")
    title = f"predicted: {names[predicted]} ({probs[predicted]:.1%}, green)"
    if true_label is not None:
        title += f"   true: {names[int(true_label)]}" + ("" if int(true_label) == predicted else " (red)")
    ax.set_title(title, fontsize=draw.PANEL_TITLE_SIZE + 1)
    return fig


def _percent(p: float) -> str:
    """0.9731 -> '97.3%', 0.00004 -> '<0.1%' (so a tiny probability is not read as none)."""
    return "0%" if p == 0 else "<0.1%" if p < 0.001 else f"{p:.1%}"


def compare_images(model, images: np.ndarray, layers: Sequence | None = None,
                   titles: Sequence[str] | None = None, fig: Figure | None = None,
                   per_panel_scale: bool = False) -> Figure:
    """Rows = images, columns = the input then each layer's channel-mean map.

    Each layer's column has one colour scale for all images, with its
    colorbar below: down a column the maps compare directly (layers differ in
    size, so each column gets its own scale). ``per_panel_scale=True``
    stretches every map on its own (and draws no colorbars).
    """
    x = probe.as_batch(model, images)
    layers = list(layers) if layers is not None else spatial_layers(model)
    chosen = _spatial_outputs(model, probe.forward_to(model, x), layers, "compare_images")
    cols = len(chosen) + 1
    fig, axes = draw.grid(len(x) * cols, cols, panel=1.8, fig=fig)
    for row in range(len(x)):
        label = titles[row] if titles is not None else f"image {row}"
        draw.show_image(axes[row * cols], x[row], title=label)
    for col, (name, out) in enumerate(chosen, start=1):
        maps = out.mean(axis=-1)                          # (images, h, w)
        cmap, scale = draw.map_style(maps)
        column = [axes[row * cols + col] for row in range(len(x))]
        for row, ax in enumerate(column):
            heading = f"{name}\n{draw.shape_text(out.shape[1:])}" if row == 0 else None
            draw.show_image(ax, maps[row], title=heading, cmap=cmap, **({} if per_panel_scale else scale))
        if not per_panel_scale:
            draw.colorbar(fig, column, "mean activation", location="bottom", shrink=0.9)
    how = "each panel scaled on its own" if per_panel_scale else "one scale per column"
    fig.suptitle(f"How different images flow through the network (mean over channels; {how})",
                 fontsize=draw.FIGURE_TITLE_SIZE)
    return fig


def activation_heatmaps(model, image: np.ndarray, layers: Sequence | None = None, alpha: float = 0.6,
                        fig: Figure | None = None, per_panel_scale: bool = False) -> Figure:
    """Each layer's channel-max map, upsampled to the input size and laid over the image.

    One colour scale for all layers with a colorbar, black (nothing) to
    yellow (strongest); ``per_panel_scale=True`` stretches each layer's map.
    """
    x = _one_image(model, image)
    layers = list(layers) if layers is not None else spatial_layers(model)
    chosen = _spatial_outputs(model, probe.forward_to(model, x), layers, "activation_heatmaps")
    height, width = x.shape[1:3]
    heats = [draw.upsample(out[0].max(axis=-1), height, width) for _, out in chosen]
    scale = draw.value_scale(np.stack(heats)) if heats else {}
    fig, axes = draw.grid(len(chosen) + 1, len(chosen) + 1, panel=2.2, fig=fig)
    draw.show_image(axes[0], x[0], title="input")
    for ax, (name, _), heat in zip(axes[1:], chosen, heats):
        draw.show_image(ax, x[0], title=draw.flag_all_zero(f"{name}\nmax over channels", heat))
        ax.imshow(heat, cmap=draw.HEAT_CMAP, alpha=alpha,
                  **(draw.value_scale(heat) if per_panel_scale else scale))
    if chosen and not per_panel_scale:
        draw.colorbar(fig, axes[1:], "max activation over channels")
    how = draw.scale_note(None if per_panel_scale else scale)
    fig.suptitle(f"Where each layer responds (bright = strong; {how})", fontsize=draw.FIGURE_TITLE_SIZE)
    return fig


def close(fig: Figure) -> None:
    """Release a figure made by a view (scripts that save many figures call this)."""
    plt.close(fig)
