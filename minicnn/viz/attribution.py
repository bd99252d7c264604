"""Attribution: which pixels made the network say "class c"?

All five methods use minicnn's own backward pass (``probe.score_gradient``)
or plain forward passes; each returns arrays, and ``minicnn.viz.overlay``
draws any of them on the image. ``score`` below is the class's *pre-softmax*
score (its logit), as in the papers: the softmax couples the classes, so its
gradient mixes in the evidence for every other class.

================  ===============================================  ============
method            map                                              shape
================  ===============================================  ============
saliency          max over channels of | d score / d x |            (H, W)
smoothgrad        mean of saliency(x + noise), noise ~ N(0, s^2)    (H, W)
integrated_grad.  (x - x0) * mean over a of grad(x0 + a (x - x0))   (H, W, C)
grad_cam          ReLU( sum_k alpha_k A_k ), alpha_k = mean dS/dA_k (h, w)
occlusion         drop of the class probability when a patch is     (H, W)
                  covered, averaged over the patches covering each
                  pixel
================  ===============================================  ============

References: Simonyan et al. 2014 (saliency), Smilkov et al. 2017
(SmoothGrad), Sundararajan et al. 2017 (integrated gradients), Selvaraju et
al. 2017 (Grad-CAM), Zeiler & Fergus 2014 (occlusion).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import seeding
from ..errors import ConfigError, ShapeError
from . import probe


def _target_class(model, x: np.ndarray, class_index: int | None) -> int:
    """The requested class, or the predicted one."""
    if class_index is not None:
        return int(class_index)
    return int(probe.class_scores(model, x)[0].argmax())


def saliency(model, image: np.ndarray, class_index: int | None = None) -> np.ndarray:
    """Vanilla gradient saliency of one image, ``(H, W)``.

    ``class_index`` defaults to the predicted class. The channel axis is
    reduced with max |.|: a pixel matters if any of its channels does.
    """
    x = probe.as_batch(model, image)[:1]
    _, grad = probe.score_gradient(model, x, class_index)
    return np.abs(grad[0]).max(axis=-1)


def smoothgrad(model, image: np.ndarray, class_index: int | None = None, samples: int = 25,
               sigma: float = 0.15, seed: int | None = None) -> np.ndarray:
    """Saliency averaged over noisy copies of the image, ``(H, W)``.

    ``sigma`` is the noise's standard deviation as a fraction of the image's
    value range (max - min), as in the paper. With ``sigma=0`` it is
    ``saliency`` exactly. All copies go through one batched backward pass.
    """
    if samples < 1:
        raise ConfigError(f"smoothgrad: samples must be >= 1, got {samples}")
    x = probe.as_batch(model, image)[:1]
    target = _target_class(model, x, class_index)
    rng = np.random.default_rng(seed) if seed is not None else seeding.global_rng()
    spread = float(x.max() - x.min()) or 1.0
    noisy = x + rng.normal(0.0, sigma * spread, size=(samples,) + x.shape[1:]).astype(x.dtype)
    _, grads = probe.score_gradient(model, noisy, target)
    return np.abs(grads).max(axis=-1).mean(axis=0)


class IntegratedGradients(NamedTuple):
    """Attributions ``(H, W, C)`` and how well they add up.

    ``delta = sum(attributions) - (F(x) - F(baseline))``: the completeness
    axiom says it is 0; a Riemann sum with ``steps`` points gets close.
    """

    attributions: np.ndarray
    delta: float
    score: float
    baseline_score: float


def integrated_gradients(model, image: np.ndarray, class_index: int | None = None,
                         baseline: np.ndarray | float = 0.0, steps: int = 64) -> IntegratedGradients:
    """Integrated gradients along the straight path from ``baseline`` to the image.

    ``IG_i = (x_i - x0_i) * integral_0^1 dF/dx_i (x0 + a (x - x0)) da``,
    estimated with the midpoint rule at ``a = (k + 0.5) / steps`` (all points
    in one batch).
    """
    if steps < 1:
        raise ConfigError(f"integrated_gradients: steps must be >= 1, got {steps}")
    x = probe.as_batch(model, image)[:1]
    x0 = np.broadcast_to(np.asarray(baseline, dtype=x.dtype), x.shape)
    target = _target_class(model, x, class_index)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(x.dtype)[:, None, None, None]
    path = x0 + alphas * (x - x0)                      # (steps, H, W, C)
    _, grads = probe.score_gradient(model, path, target)
    attributions = (x - x0)[0] * grads.mean(axis=0)
    ends = probe.class_scores(model, np.concatenate([x, x0]))[:, target]
    score, baseline_score = float(ends[0]), float(ends[1])
    delta = float(attributions.sum()) - (score - baseline_score)
    return IntegratedGradients(attributions, delta, score, baseline_score)


def grad_cam(model, image: np.ndarray, layer, class_index: int | None = None) -> np.ndarray:
    """Grad-CAM map of ``layer`` (a 4-D output) for one image, ``(h, w)`` of that layer.

    ``alpha_k = mean over positions of d score / d A_k``; the map is
    ``ReLU(sum_k alpha_k A_k)``, not normalised (an all-zero map stays zero:
    nothing is divided by its maximum here; ``overlay`` scales for display).
    """
    x = probe.as_batch(model, image)[:1]
    name = model.layers[probe.layer_index(model, layer)].name
    grads: dict[str, np.ndarray] = {}
    outputs: dict[str, np.ndarray] = {}
    probe.score_gradient(model, x, class_index, record=grads.__setitem__, outputs=outputs)
    if name not in grads:
        raise ConfigError(f"grad_cam: layer {name!r} is at or above the class scores; choose a layer below")
    activation, grad = outputs[name][0], grads[name][0]
    if activation.ndim != 3:
        raise ShapeError(f"grad_cam: layer {name!r} outputs shape {activation.shape}; "
                         "Grad-CAM needs a spatial (H, W, C) output such as a Conv2D's")
    alpha = grad.mean(axis=(0, 1))                     # (C,): one weight per channel
    return np.maximum((activation * alpha).sum(axis=-1), 0.0)


def occlusion(model, image: np.ndarray, class_index: int | None = None, patch: int = 4,
              stride: int = 2, fill: float | None = None, batch_size: int = 64) -> np.ndarray:
    """How much the class probability drops when a ``patch`` x ``patch`` square is covered.

    ``fill`` defaults to the image's mean. Each pixel gets the mean drop over
    all patch positions that cover it, so the map has the image's ``(H, W)``.
    """
    x = probe.as_batch(model, image)[:1]
    if patch < 1 or stride < 1:
        raise ConfigError(f"occlusion: patch and stride must be >= 1, got {patch} and {stride}")
    height, width = x.shape[1:3]
    target = _target_class(model, x, class_index)
    fill = float(x.mean()) if fill is None else float(fill)
    base = float(model.predict(x, verbose=0)[0, target])
    tops = range(0, max(height - patch, 0) + 1, stride)
    lefts = range(0, max(width - patch, 0) + 1, stride)
    boxes = [(t, l) for t in tops for l in lefts]
    total = np.zeros((height, width))
    covered = np.zeros((height, width))
    for start in range(0, len(boxes), batch_size):
        chunk = boxes[start:start + batch_size]
        batch = np.repeat(x, len(chunk), axis=0)
        for i, (t, l) in enumerate(chunk):
            batch[i, t:t + patch, l:l + patch, :] = fill
        probs = model.predict(batch, verbose=0)[:, target]
        for (t, l), p in zip(chunk, probs):
            total[t:t + patch, l:l + patch] += base - p
            covered[t:t + patch, l:l + patch] += 1
    return np.divide(total, covered, out=np.zeros_like(total), where=covered > 0)
