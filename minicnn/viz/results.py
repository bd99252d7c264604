"""How well did it learn? Training curves, the confusion matrix, the mistakes."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import ShapeError
from . import draw


def _labels(y: np.ndarray) -> np.ndarray:
    """Integer labels from integer or one-hot ``y``."""
    y = np.asarray(y)
    return y.argmax(axis=-1) if y.ndim == 2 else y.astype(np.int64)


def training_curves(history, fig: Figure | None = None) -> Figure:
    """Loss and every metric per epoch, training and validation side by side.

    ``history`` is what ``fit`` returns (or its ``.history`` dict).
    """
    logs = getattr(history, "history", history)
    metrics = [key for key in logs if not key.startswith("val_")]
    if not metrics:
        raise ShapeError("training_curves: the history is empty (did fit run any epoch?)")
    fig, axes = draw.grid(len(metrics), len(metrics), panel=3.6, fig=fig)
    for ax, key in zip(axes, metrics):
        epochs = np.arange(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], "o-", label="training")
        if "val_" + key in logs:
            ax.plot(epochs, logs["val_" + key], "o-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    return fig


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """``cm[t, p]`` = how many samples of true class t were predicted as p."""
    cm = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(cm, (_labels(y_true), _labels(y_pred)), 1)
    return cm


def confusion_matrix(model, x: np.ndarray, y: np.ndarray, class_names: Sequence[str] | None = None,
                     ax=None) -> Figure:
    """The confusion matrix of ``model`` on ``(x, y)``, counts written in the cells."""
    probs = model.predict(x, verbose=0)
    k = probs.shape[-1]
    cm = confusion_counts(y, probs.argmax(axis=-1), k)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig, ax = draw.axes_or_new(ax, (0.55 * k + 2.5, 0.55 * k + 2))
    ax.imshow(cm, cmap="Blues")
    for t in range(k):
        for p in range(k):
            if cm[t, p]:
                ax.text(p, t, str(cm[t, p]), ha="center", va="center", fontsize=7,
                        color="white" if cm[t, p] > cm.max() / 2 else "black")
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix: accuracy {np.trace(cm) / max(cm.sum(), 1):.2%} on {cm.sum()} images")
    return fig


def misclassified(model, x: np.ndarray, y: np.ndarray, class_names: Sequence[str] | None = None,
                  n: int = 24, cols: int = 8, predicted: np.ndarray | None = None,
                  fig: Figure | None = None) -> Figure:
    """A gallery of up to ``n`` misclassified images titled "pred: p, true: t".

    ``predicted`` (class indices) skips the prediction when the caller has it.
    """
    if predicted is None:
        predicted = model.predict(x, verbose=0).argmax(axis=-1)
    predicted, true = np.asarray(predicted), _labels(y)
    wrong = np.flatnonzero(predicted != true)
    names = list(class_names) if class_names is not None else \
        [str(i) for i in range(int(max(predicted.max(), true.max())) + 1)]
    shown = wrong[:n]
    fig, axes = draw.grid(max(len(shown), 1), cols, panel=1.5, fig=fig)
    if not len(shown):
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    for ax, i in zip(axes, shown):
        draw.show_image(ax, x[i], title=f"pred: {names[predicted[i]]}, true: {names[true[i]]}")
    fig.suptitle(f"{len(wrong)} of {len(x)} images misclassified (showing {len(shown)})")
    return fig
