"""Activation maximization: paint the input that excites one unit most.

Gradient *ascent* on the image x for the regularised objective::

    J(x) = a(x) - l2_weight * ||x||^2 - tv_weight * TV(x)

    a(x)   the unit: channel ``channel`` of ``layer``, averaged over positions
           (or the unit itself for a 1-D layer output)
    TV(x)  sum over neighbours of (x[i+1, j] - x[i, j])^2 + (x[i, j+1] - x[i, j])^2
           - penalises pixel-to-pixel noise, so the picture stays smooth

Each step shifts the image by a random ``jitter`` (wrapping around) before the
forward pass and shifts the gradient back: features that survive small
translations look like features, not adversarial noise. The step is Adam's
with one twist: the second moment is the mean of g^2 over *all* pixels, a
scalar. So a step moves along the (averaged) gradient itself - per-pixel Adam
would move along its sign, and never reach a linear unit's filter direction -
while its size, about ``learning_rate`` per pixel, ignores the layer's scale
and shrinks where the gradient keeps changing sign. ``max_norm`` keeps ||x|| <= max_norm (a
projection after each step) and ``value_range`` clips the pixels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from matplotlib.figure import Figure

from .. import seeding
from ..errors import ConfigError
from . import draw, probe


class Maximization(NamedTuple):
    image: np.ndarray          # (H, W, C)
    history: list[float]       # J(x) before each step, and after the last one
    activation: list[float]    # a(x) alone, same steps


def total_variation(x: np.ndarray) -> tuple[float, np.ndarray]:
    """TV(x) of one ``(H, W, C)`` image and its gradient dTV/dx."""
    dv = x[1:] - x[:-1]                  # vertical neighbour differences   (H-1, W, C)
    dh = x[:, 1:] - x[:, :-1]            # horizontal neighbour differences (H, W-1, C)
    grad = np.zeros_like(x)
    grad[1:] += 2 * dv                   # d(dv^2)/dx[i+1] = +2 dv
    grad[:-1] -= 2 * dv                  # d(dv^2)/dx[i]   = -2 dv
    grad[:, 1:] += 2 * dh
    grad[:, :-1] -= 2 * dh
    return float((dv ** 2).sum() + (dh ** 2).sum()), grad


def _unit(model, x: np.ndarray, layer, channel: int) -> tuple[float, np.ndarray]:
    """a(x) for one image batch ``(1, H, W, C)`` and da/dx."""
    name = model.layers[probe.layer_index(model, layer)].name
    out = probe.forward_to(model, x, layer)[name]
    if not 0 <= channel < out.shape[-1]:
        raise ConfigError(f"activation_maximization: layer {name!r} has {out.shape[-1]} channels/units, "
                          f"got channel {channel}")
    seed = np.zeros_like(out)
    positions = int(np.prod(out.shape[1:-1]))      # 1 for a Dense output
    seed[..., channel] = 1.0 / positions           # d(mean over positions)/d(out)
    value = float(out[..., channel].mean())
    return value, probe.backward_from(model, layer, seed)[0]


def activation_maximization(model, layer, channel: int, steps: int = 200, learning_rate: float = 0.05,
                            tv_weight: float = 0.0, l2_weight: float = 0.0, jitter: int = 0,
                            max_norm: float | None = None, value_range: tuple[float, float] | None = None,
                            start: np.ndarray | None = None, seed: int | None = 0) -> Maximization:
    """Run ``steps`` of gradient ascent from ``start`` (default: faint noise around 0, or
    around the middle of ``value_range``).

    Behind a ReLU, a unit that is off everywhere at the start has no gradient
    (only the regularisers move the image); start from a real image, or pick a
    channel that responds to one.
    """
    if steps < 1 or learning_rate <= 0:
        raise ConfigError(f"activation_maximization: steps must be >= 1 and learning_rate > 0, "
                          f"got {steps} and {learning_rate}")
    rng = np.random.default_rng(seed) if seed is not None else seeding.global_rng()
    shape = tuple(model.input_shape)
    if start is not None:
        x = np.asarray(start, dtype=model.dtype).reshape(shape).copy()
    else:   # faint noise around 0, or around the middle of ``value_range`` (grey for images)
        centre = 0.0 if value_range is None else 0.5 * (value_range[0] + value_range[1])
        x = (centre + rng.normal(0.0, 0.01, size=shape)).astype(model.dtype)

    def objective(image: np.ndarray, shift: tuple[int, int]) -> tuple[float, float, np.ndarray]:
        moved = np.roll(image, shift, axis=(0, 1))
        value, grad = _unit(model, moved[None], layer, channel)
        grad = np.roll(grad, (-shift[0], -shift[1]), axis=(0, 1))   # back to image coordinates
        tv, tv_grad = total_variation(image)
        total = value - l2_weight * float((image ** 2).sum()) - tv_weight * tv
        return total, value, grad - 2 * l2_weight * image - tv_weight * tv_grad

    history, activation = [], []
    m, v = np.zeros_like(x), 0.0                        # first moment per pixel, second a scalar
    beta1, beta2 = 0.9, 0.999
    for t in range(1, steps + 1):
        shift = tuple(int(s) for s in rng.integers(-jitter, jitter + 1, size=2)) if jitter else (0, 0)
        total, value, grad = objective(x, shift)
        history.append(total)
        activation.append(value)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * float(np.mean(grad ** 2))
        step = learning_rate * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        x = x + step * m / (np.sqrt(v) + 1e-8)
        if max_norm is not None:
            norm = float(np.linalg.norm(x))
            if norm > max_norm:
                x *= max_norm / norm
        if value_range is not None:
            np.clip(x, value_range[0], value_range[1], out=x)
    total, value, _ = objective(x, (0, 0))
    history.append(total)
    activation.append(value)
    return Maximization(x, history, activation)


def maximized_inputs(model, layer, channels: int | list[int] = 8, cols: int = 4, steps: int = 120,
                     fig: Figure | None = None, **ascent) -> Figure:
    """``activation_maximization`` for several channels of ``layer``, one panel each.

    ``channels`` is a count (the first ones) or a list. Each panel's title reads
    ``channel c: a0 -> a1``: the channel's mean activation on the starting image
    and after ``steps`` steps of ascent (``ascent`` takes the other arguments of
    ``activation_maximization``; for images, ``value_range=(0, 1)`` keeps the
    pixels displayable). A channel that stayed at 0 from start to end is
    flagged "stuck at 0": behind a ReLU it had no gradient to climb, so its
    panel is the starting noise, not a picture of what it looks for (start from
    a real image instead, with ``start=``).
    """
    target = model.layers[probe.layer_index(model, layer)]
    name, count = target.name, target.output_shape[-1]
    chosen = list(range(min(channels, count))) if isinstance(channels, int) else [int(c) for c in channels]
    fig, axes = draw.grid(len(chosen), cols, panel=1.9, fig=fig)
    stuck = 0
    for channel, ax in zip(chosen, axes):
        result = activation_maximization(model, layer, channel, steps=steps, **ascent)
        start, end = result.activation[0], result.activation[-1]
        dead = max(abs(a) for a in result.activation) == 0.0
        stuck += dead
        draw.show_image(ax, result.image, title=f"channel {channel}: " + (
            "stuck at 0" if dead else f"{start:.2f} -> {end:.2f}"))
    flagged = f"; {stuck} stuck at 0 (no gradient behind a ReLU)" if stuck else ""
    fig.suptitle(f"{name}: inputs that maximize each channel's mean activation\n"
                 f"(titles: mean activation at the start -> after {steps} steps of gradient ascent{flagged})",
                 fontsize=draw.FIGURE_TITLE_SIZE)
    return fig
