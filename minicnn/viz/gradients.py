"""Views of the backward pass: what the loss asks of each layer, and how training flows.

These need dLoss/d(activation) and dLoss/d(weight), which minicnn keeps by
construction (``model.trace(x, y)``)::

    trace = model.trace(x, y)
    gradient_maps(trace, "conv1")       activations beside dLoss/dA, channel by channel
    weight_gradients(trace, "conv1")    dLoss/dkernel per filter and dLoss/dbias
    fit(..., callbacks=[GradientFlow()])  per-layer gradient norms over training
"""

from __future__ import annotations

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


def _largest_gradient_sample(grad: np.ndarray) -> int:
    """The sample whose gradient at this layer has the largest norm: the image on which
    the loss asks most of the layer (a confidently right image asks almost nothing)."""
    norms = np.sqrt(np.square(grad.reshape(len(grad), -1), dtype=np.float64).sum(axis=1))
    return int(np.argmax(norms))


SMALL_LOSS = 1e-3
"""Below this loss the gradients are near 0 (a confident right answer): the views say so."""


def _small_loss_note(loss: float | None) -> str:
    if loss is None or loss >= SMALL_LOSS:
        return ""
    return (f"\nthe loss is only {loss:.1e}, so every gradient is near 0: trace a misclassified image, "
            "or use viz.saliency for the class score's gradient")


def gradient_maps(trace, layer: str, sample: int | None = None, max_maps: int = 16, cols: int = 8) -> Figure:
    """Activation maps (upper rows) above dLoss/d(activation) (lower rows), per channel.

    Where the gradient is red, increasing the activation would *increase*
    the loss; blue, decrease it. Each kind has one colour scale for all its
    panels, with a colorbar: activations on a sequential map (diverging if some
    are negative), gradients on a diverging one centred at 0, so their sizes
    compare.

    ``sample`` defaults to the traced image whose gradient at this layer is
    largest. On an image the model already gets right with confidence the loss
    is near 0 and so is every gradient: the title then says so (trace a
    misclassified image, or look at the class score's gradient with
    ``viz.saliency``). Channels whose activation is 0 everywhere are titled
    "all 0"; behind a ReLU their gradient is 0 too, whatever dL/dA says.
    """
    out, grad = _from_trace(trace, layer)
    if out.ndim != 4:
        raise ShapeError(f"gradient_maps: layer {layer!r} outputs {out.shape[1:]}, not (H, W, C) maps")
    sample = _largest_gradient_sample(grad) if sample is None else int(sample)
    a, g = out[sample], grad[sample]
    count = min(max_maps, a.shape[-1])
    per_row = min(cols, count)
    pairs = -(-count // per_row)
    fig = draw.new_figure(figsize=(per_row * 1.4 + 1.2, pairs * 2.9 + 0.9))
    axes = fig.subplots(2 * pairs, per_row, squeeze=False)
    activation_cmap, activation_scale = draw.map_style(a[..., :count])
    gradient_scale = draw.value_scale(g[..., :count], signed=True)
    for c in range(pairs * per_row):
        top, bottom = axes[2 * (c // per_row), c % per_row], axes[2 * (c // per_row) + 1, c % per_row]
        if c >= count:
            top.remove(), bottom.remove()
            continue
        draw.show_image(top, a[:, :, c], title=draw.flag_all_zero(f"A[{c}]", a[:, :, c]),
                        cmap=activation_cmap, **activation_scale)
        draw.show_image(bottom, g[:, :, c], title=f"dL/dA[{c}]", cmap=draw.SIGNED_CMAP, **gradient_scale)
    for pair in range(pairs):           # each row its colorbar (one scale per kind of row)
        used = min(per_row, count - pair * per_row)
        draw.colorbar(fig, list(axes[2 * pair, :used]), "A", shrink=0.9)
        draw.colorbar(fig, list(axes[2 * pair + 1, :used]), "dL/dA", shrink=0.9)
    loss = f"batch loss {trace.loss:.4g}" if trace.loss is not None else "no loss"
    fig.suptitle(f"{layer}, sample {sample}: activations (A) and dLoss/dA (|max| {gradient_scale['vmax']:.2e}); "
                 f"{loss}{_small_loss_note(trace.loss)}", fontsize=draw.FIGURE_TITLE_SIZE)
    return fig


def weight_gradients(trace, layer: str, max_filters: int = 32, cols: int = 8) -> Figure:
    """dLoss/dkernel of each filter and dLoss/dbias, on one scale centred at 0.

    A Conv2D filter's gradient has one (kh, kw) tile per input channel; each
    panel shows the input channel where it is largest (the title says which),
    as ``filters`` does for the weights: a mean over channels would cancel out.
    A Dense kernel is one (inputs, units) picture. Red: raising that weight
    would raise the loss, so gradient descent lowers it. A filter whose
    gradient is 0 everywhere is titled "all 0": its channel was 0 on every
    traced image (behind a ReLU, no gradient flows back through it).
    """
    grads = trace.weight_grads.get(layer)
    if not grads:
        raise ConfigError(f"weight_gradients: no weight gradients for {layer!r} (a layer without "
                          "weights, or a trace made without labels)")
    kernel = grads[0]
    bias = grads[1] if len(grads) > 1 else None
    if kernel.ndim == 4:        # Conv2D: (kh, kw, in, out) -> one (kh, kw) tile per filter
        tiles, strongest = draw.strongest_input_channel(kernel[..., :max_filters])
        titles = [draw.flag_all_zero(f"filter {i}" if kernel.shape[2] == 1 else f"{i} (in {c})", kernel[..., i])
                  for i, c in enumerate(strongest)]
    elif kernel.ndim == 2:      # Dense: (in, out) as one picture
        tiles, titles = kernel[None], [f"dL/dkernel {kernel.shape}"]
    else:
        tiles, titles = kernel.reshape(1, 1, -1), [f"dL/dkernel {kernel.shape}"]
    fig, axes = draw.grid(len(tiles) + (bias is not None), cols, panel=1.5)
    scale = draw.value_scale(tiles, signed=True)
    for ax, tile, title in zip(axes, tiles, titles):
        ax.imshow(tile, cmap=draw.SIGNED_CMAP, interpolation="nearest", aspect="auto", **scale)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(title, fontsize=draw.PANEL_TITLE_SIZE)
    draw.colorbar(fig, axes[:len(tiles)], "dL/dw")
    if bias is not None:
        axes[-1].bar(np.arange(len(bias)), bias, color="tab:purple")
        axes[-1].axhline(0, color="black", linewidth=0.5)
        axes[-1].set_title("dL/dbias", fontsize=draw.PANEL_TITLE_SIZE)
        axes[-1].tick_params(labelsize=6)
    fig.suptitle(f"{layer}: weight gradients (|max| {scale['vmax']:.2e}; red = raising the weight raises "
                 f"the loss){_small_loss_note(trace.loss)}", fontsize=draw.FIGURE_TITLE_SIZE)
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
            ax.set_title(title, fontsize=draw.PANEL_TITLE_SIZE + 1)
        axes[0].legend(fontsize=7)
        fig.suptitle("Gradient flow" + (f" - flagged: {flags}" if flags else " - no layer flagged"),
                     fontsize=draw.FIGURE_TITLE_SIZE)
        return fig
