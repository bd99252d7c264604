"""Views of the backward pass: what the loss asks of each layer, and how training flows.

These need dLoss/d(activation) and dLoss/d(weight), which minicnn keeps by
construction (``model.trace(x, y)``)::

    trace = model.trace(x, y)
    gradient_maps(trace, "conv1")       activations beside dLoss/dA, channel by channel
    weight_gradients(trace, "conv1")    dLoss/dkernel per filter and dLoss/dbias
    fit(..., callbacks=[GradientFlow()])  per-layer gradient norms over training
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..callbacks import Callback
from ..errors import ConfigError, ShapeError
from . import draw


def _from_trace(trace, layer: str) -> tuple[np.ndarray, np.ndarray]:
    if layer not in trace.outputs:
        raise ConfigError(f"trace has no layer {layer!r}; layers: {trace.layer_names}")
    if layer not in trace.grads:
        raise ConfigError("the trace holds no gradients: call model.trace(x, y) with labels y")
    return trace.outputs[layer], trace.grads[layer]


def _symmetric(ax, a: np.ndarray, limit: float) -> None:
    """Draw a signed map with 0 in white: red = positive, blue = negative."""
    ax.imshow(a, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_xticks([]), ax.set_yticks([])


def gradient_maps(trace, layer: str, sample: int = 0, max_maps: int = 16, cols: int = 8) -> Figure:
    """Activation maps (upper row) above dLoss/d(activation) (lower row), per channel.

    Where the gradient is red, increasing the activation would *increase*
    the loss; blue, decrease it. The colour scale is shared by all gradient
    panels, so their sizes compare.
    """
    out, grad = _from_trace(trace, layer)
    if out.ndim != 4:
        raise ShapeError(f"gradient_maps: layer {layer!r} outputs {out.shape[1:]}, not (H, W, C) maps")
    a, g = out[sample], grad[sample]
    count = min(max_maps, a.shape[-1])
    per_row = min(cols, count)
    pairs = -(-count // per_row)
    fig = draw.new_figure(figsize=(per_row * 1.4, pairs * 2.9 + 0.6))
    axes = fig.subplots(2 * pairs, per_row, squeeze=False)
    limit = float(np.abs(g[..., :count]).max()) or 1.0
    for c in range(pairs * per_row):
        top, bottom = axes[2 * (c // per_row), c % per_row], axes[2 * (c // per_row) + 1, c % per_row]
        if c >= count:
            top.remove(), bottom.remove()
            continue
        draw.show_image(top, a[:, :, c], title=f"A[{c}]", cmap="viridis")
        _symmetric(bottom, g[:, :, c], limit)
        bottom.set_title(f"dL/dA[{c}]", fontsize=8)
    fig.suptitle(f"{layer}: activations and dLoss/dActivation (|max| {limit:.2e}), loss {trace.loss:.4f}")
    return fig


def weight_gradients(trace, layer: str, max_filters: int = 32, cols: int = 8) -> Figure:
    """dLoss/dkernel of each filter (mean over input channels) and dLoss/dbias."""
    grads = trace.weight_grads.get(layer)
    if not grads:
        raise ConfigError(f"weight_gradients: no weight gradients for {layer!r} (a layer without "
                          "weights, or a trace made without labels)")
    kernel = grads[0]
    bias = grads[1] if len(grads) > 1 else None
    if kernel.ndim == 4:        # Conv2D: (kh, kw, in, out) -> one (kh, kw) tile per filter
        tiles = kernel.mean(axis=2).transpose(2, 0, 1)[:max_filters]
    elif kernel.ndim == 2:      # Dense: (in, out) as one picture
        tiles = kernel[None]
    else:
        tiles = kernel.reshape(1, 1, -1)
    fig, axes = draw.grid(len(tiles) + (bias is not None), cols, panel=1.5)
    limit = float(np.abs(tiles).max()) or 1.0
    for i, (ax, tile) in enumerate(zip(axes, tiles)):
        _symmetric(ax, tile, limit)
        ax.set_title(f"filter {i}" if kernel.ndim == 4 else f"dL/dkernel {kernel.shape}", fontsize=7)
    if bias is not None:
        axes[-1].bar(np.arange(len(bias)), bias, color="tab:purple")
        axes[-1].set_title("dL/dbias", fontsize=7)
        axes[-1].tick_params(labelsize=5)
    fig.suptitle(f"{layer}: weight gradients (red = raising the weight raises the loss)")
    return fig


class GradientFlow(Callback):
    """Per-layer gradient health during ``fit``, one record per epoch.

    For every layer with trainable weights it records, per epoch:

    * ``grad_norm``    mean over the epoch's batches of ||dL/dW|| (all its weights)
    * ``update_ratio`` ||W_end - W_start|| / ||W_start|| over the epoch
    * ``zero_grads``   mean fraction of gradient entries that are exactly 0

    ``flags()`` names the layers whose gradients vanish (norm below
    ``vanishing`` x the largest layer's) or explode (above ``exploding``, or
    not finite); ``plot()`` draws the three curves, flagged layers dashed.
    """

    def __init__(self, vanishing: float = 1e-4, exploding: float = 1e3) -> None:
        super().__init__()
        self.vanishing, self.exploding = vanishing, exploding
        self.history: dict[str, dict[str, list[float]]] = {}

    def _layers(self):
        return [layer for layer in self.model.layers if layer.trainable_weights]

    def on_epoch_begin(self, epoch, logs=None):
        self._start = {l.name: [p.value.copy() for p in l.trainable_weights] for l in self._layers()}
        self._sums = {l.name: [0.0, 0.0] for l in self._layers()}
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        for layer in self._layers():
            grads = [p.grad for p in layer.trainable_weights if p.grad is not None]
            if not grads:
                continue
            sums = self._sums[layer.name]
            sums[0] += float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads)))
            sums[1] += sum(int(np.count_nonzero(g == 0)) for g in grads) / sum(g.size for g in grads)

    def on_epoch_end(self, epoch, logs=None):
        n = max(self._batches, 1)
        for layer in self._layers():
            start = self._start[layer.name]
            moved = np.sqrt(sum(np.sum((p.value - s) ** 2) for p, s in zip(layer.trainable_weights, start)))
            size = np.sqrt(sum(np.sum(s ** 2) for s in start))
            record = self.history.setdefault(layer.name, {"grad_norm": [], "update_ratio": [], "zero_grads": []})
            record["grad_norm"].append(self._sums[layer.name][0] / n)
            record["update_ratio"].append(float(moved / size) if size > 0 else float("inf"))
            record["zero_grads"].append(self._sums[layer.name][1] / n)

    def flags(self) -> dict[str, str]:
        """``{layer: "vanishing" | "exploding"}`` judged on the last epoch."""
        if not self.history:
            return {}
        last = {name: rec["grad_norm"][-1] for name, rec in self.history.items()}
        largest = max((v for v in last.values() if np.isfinite(v)), default=0.0)
        flagged = {}
        for name, norm in last.items():
            if not np.isfinite(norm) or norm > self.exploding:
                flagged[name] = "exploding"
            elif norm < self.vanishing * largest:
                flagged[name] = "vanishing"
        return flagged

    def plot(self) -> Figure:
        if not self.history:
            raise ConfigError("GradientFlow.plot: nothing recorded yet (pass it to fit(callbacks=[...]))")
        flags = self.flags()
        fig, axes = draw.grid(3, 3, panel=3.8)
        for ax, key, title, log in zip(axes, ("grad_norm", "update_ratio", "zero_grads"),
                                       ("mean ||dL/dW|| per batch", "||dW|| / ||W|| per epoch",
                                        "fraction of zero gradients"), (True, True, False)):
            for name, record in self.history.items():
                epochs = np.arange(1, len(record[key]) + 1)
                label = f"{name} ({flags[name]})" if name in flags else name
                ax.plot(epochs, record[key], "--" if name in flags else "-", marker="o", ms=3, label=label)
            if log:
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_title(title, fontsize=9)
        axes[0].legend(fontsize=7)
        fig.suptitle("Gradient flow" + (f" - flagged: {flags}" if flags else " - no layer flagged"))
        fig.tight_layout()
        return fig
