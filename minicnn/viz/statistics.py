"""Numbers about activations: per-layer statistics, dead filters, BatchNorm's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError
from . import draw, probe


@dataclass
class LayerStats:
    name: str
    shape: tuple[int, ...]
    count: int
    mean: float
    std: float
    min: float
    max: float
    zeros: float    # percent of exactly-zero values (ReLU's "off")


class ActivationTable(list):
    """A list of :class:`LayerStats` that prints as a table and draws as a figure."""

    header = f"{'layer':<20}{'shape':<16}{'count':>10}{'mean':>9}{'std':>9}{'min':>9}{'max':>9}{'% zeros':>9}"

    def __str__(self) -> str:
        rows = [self.header, "-" * len(self.header)]
        for s in self:
            rows.append(f"{s.name:<20}{str(s.shape):<16}{s.count:>10}{s.mean:>9.3f}{s.std:>9.3f}"
                        f"{s.min:>9.3f}{s.max:>9.3f}{s.zeros:>9.1f}")
        return "\n".join(rows)

    def figure(self) -> Figure:
        """The table as a bar chart of mean +- std and % zeros per layer.

        The std bars are cut at the layer's smallest and largest value: after a
        ReLU no activation is below 0, so a bar reaching below 0 would show
        values that cannot occur (the cut ends are drawn as they are; the dots
        mark min and max).
        """
        fig, (ax_mean, ax_zero) = draw.grid(2, 2, panel=4.2)
        names = [s.name for s in self]
        pos = np.arange(len(self))
        means = np.array([s.mean for s in self])
        low = np.array([max(s.mean - s.std, s.min) for s in self])
        high = np.array([min(s.mean + s.std, s.max) for s in self])
        ax_mean.bar(pos, means, yerr=[means - low, high - means], capsize=3)
        ax_mean.plot(pos, [s.min for s in self], "v", color="tab:gray", ms=4, label="min")
        ax_mean.plot(pos, [s.max for s in self], "^", color="tab:gray", ms=4, label="max")
        ax_mean.legend(fontsize=8)
        ax_mean.set_title("mean activation (bars: +- std within [min, max])", fontsize=draw.PANEL_TITLE_SIZE + 1)
        ax_zero.bar(pos, [s.zeros for s in self], color="tab:orange")
        ax_zero.set_ylim(0, 100)
        ax_zero.set_title("% of activations exactly zero", fontsize=draw.PANEL_TITLE_SIZE + 1)
        for ax in (ax_mean, ax_zero):
            ax.set_xticks(pos, names, rotation=45, ha="right", fontsize=draw.PANEL_TITLE_SIZE + 1)
        return fig


def activation_statistics(model, images: np.ndarray, layers: Sequence | None = None) -> ActivationTable:
    """Shape, count, mean, std, min, max and % zeros of each layer's output over ``images``."""
    x = probe.as_batch(model, images)
    layers = list(layers) if layers is not None else [layer.name for layer in model.layers]
    outputs = probe.forward_to(model, x)
    table = ActivationTable()
    for layer in layers:
        name = model.layers[probe.layer_index(model, layer)].name
        a = outputs[name]
        table.append(LayerStats(name, a.shape[1:], int(a.size), float(a.mean()), float(a.std()),
                                float(a.min()), float(a.max()), float(100.0 * np.mean(a == 0))))
    return table


def filter_activation_rates(model, x: np.ndarray, layer, batch_size: int = 256) -> np.ndarray:
    """Fraction of (image, position) pairs where each channel of ``layer`` is > 0, ``(C,)``.

    A rate of 0 over a whole dataset is a *dead* filter: it never fires, so
    (behind a ReLU) it also never receives a gradient and cannot recover.
    """
    x = probe.as_batch(model, x)
    name = model.layers[probe.layer_index(model, layer)].name
    positive, total = None, 0
    for start in range(0, len(x), batch_size):
        a = probe.forward_to(model, x[start:start + batch_size], layer)[name]
        counts = (a > 0).reshape(-1, a.shape[-1]).sum(axis=0)
        positive = counts if positive is None else positive + counts
        total += a.size // a.shape[-1]
    return positive / total


def dead_filters(model, x: np.ndarray, layer, ax=None) -> Figure:
    """Activation rate per filter over ``x``; dead filters (rate 0) marked in red."""
    rates = filter_activation_rates(model, x, layer)
    name = model.layers[probe.layer_index(model, layer)].name
    fig, ax = draw.axes_or_new(ax, (max(6, len(rates) * 0.18), 3.2))
    dead = rates == 0
    ax.bar(np.arange(len(rates)), rates, color=np.where(dead, "tab:red", "tab:blue"))
    ax.scatter(np.flatnonzero(dead), np.zeros(dead.sum()), color="tab:red", marker="x")
    ax.set_xlabel("filter")
    ax.set_ylabel("fraction > 0")
    ax.set_ylim(0, 1)
    ax.set_title(f"{name}: activation rate per filter over {len(x)} images; "
                 f"{int(dead.sum())} dead (never > 0)", fontsize=draw.PANEL_TITLE_SIZE + 1)
    return fig


@dataclass
class BatchNormState:
    """Per channel: the statistics of one batch beside the ones BatchNorm will use."""

    name: str
    batch_mean: np.ndarray
    batch_var: np.ndarray
    moving_mean: np.ndarray
    moving_var: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray


def batchnorm_state(model, x: np.ndarray, layer) -> BatchNormState:
    """The input statistics of a BatchNormalization layer on ``x`` and its learned state."""
    index = probe.layer_index(model, layer)
    bn = model.layers[index]
    if not hasattr(bn, "moving_mean"):
        raise ConfigError(f"batchnorm_inspector: layer {bn.name!r} ({type(bn).__name__}) is not a "
                          "BatchNormalization layer")
    x = probe.as_batch(model, x)
    below = probe.forward_to(model, x, index - 1)[model.layers[index - 1].name] if index else x
    axes = tuple(range(below.ndim - 1))
    return BatchNormState(bn.name, below.mean(axis=axes), below.var(axis=axes),
                          bn.moving_mean.value.copy(), bn.moving_variance.value.copy(),
                          bn.gamma.value.copy(), bn.beta.value.copy())


def batchnorm_inspector(model, x: np.ndarray, layer, fig: Figure | None = None) -> Figure:
    """Batch vs moving mean and variance per channel, and the learned gamma and beta.

    Large gaps between the batch and moving statistics mean inference
    normalises differently from training (too few steps, or a data shift).
    """
    s = batchnorm_state(model, x, layer)
    fig, axes = draw.grid(3, 3, panel=3.6, fig=fig)
    channels = np.arange(len(s.gamma))
    for ax, (title, batch, moving) in zip(axes, [("mean", s.batch_mean, s.moving_mean),
                                                 ("variance", s.batch_var, s.moving_var)]):
        ax.plot(channels, batch, "o", ms=3, label="this batch")
        ax.plot(channels, moving, "x", ms=4, label="moving (inference)")
        ax.set_title(f"input {title} per channel", fontsize=draw.PANEL_TITLE_SIZE + 1)
        ax.set_xlabel("channel")
        ax.legend(fontsize=7)
    axes[2].bar(channels - 0.2, s.gamma, width=0.4, label="gamma")
    axes[2].bar(channels + 0.2, s.beta, width=0.4, label="beta")
    axes[2].set_title("learned scale and shift", fontsize=draw.PANEL_TITLE_SIZE + 1)
    axes[2].legend(fontsize=7)
    fig.suptitle(f"{s.name}: batch of {len(x)} vs moving statistics", fontsize=draw.FIGURE_TITLE_SIZE)
    return fig

