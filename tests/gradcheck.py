"""Central finite differences, the ground truth for every ``backward``.

For a layer with output y = f(x, w) we check the scalar L = sum(y * g) for a
fixed random g: then dL/dy = g, and backward(g) must return dL/dx and leave
dL/dw in each parameter's grad. Each partial derivative is compared with

    (L(v + h) - L(v - h)) / (2h),   h = 1e-6 * max(|v|, 0.1), in float64.

The step scales with the value: near a probability of 1e-4, a fixed
h = 1e-6 would be 1% of the value, and the truncation error of the central
difference (about h^2/6 times the third derivative) would swamp the comparison.

The relative error is ||analytic - numeric|| / (||analytic|| + ||numeric||),
and must stay below 1e-6.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

TOLERANCE = 1e-6
STEP = 1e-6


def numeric_gradient(f: Callable[[], float], array: np.ndarray, step: float = STEP) -> np.ndarray:
    """dF/d(array) by central differences, perturbing ``array`` in place."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        h = step * max(abs(old), 0.1)
        flat[i] = old + h
        plus = f()
        flat[i] = old - h
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_layer(layer, x: np.ndarray, training: bool = False, seed: int = 0,
                before_forward: Callable[[], None] | None = None) -> dict[str, float]:
    """Gradient-check ``layer`` at ``x`` (float64); return the error per quantity."""
    assert x.dtype == np.float64 and layer.dtype == np.float64
    g = np.random.default_rng(seed).standard_normal((x.shape[0],) + layer.output_shape)

    def loss() -> float:
        if before_forward:
            before_forward()
        return float((layer.apply(x, training=training) * g).sum())

    # Snapshot non-trainable state (BatchNorm moving statistics) so that the
    # many forward passes below do not drift it.
    frozen = [p.value.copy() for p in layer.non_trainable_weights]
    loss()
    dx = layer.backward(g.copy())
    analytic = {"x": dx, **{p.name: p.grad.copy() for p in layer.trainable_weights}}
    errors = {"x": relative_error(dx, numeric_gradient(loss, x))}
    for p in layer.trainable_weights:
        errors[p.name] = relative_error(analytic[p.name], numeric_gradient(loss, p.value))
    for p, v in zip(layer.non_trainable_weights, frozen):
        p.value[...] = v
    return errors


def assert_gradients_ok(errors: dict[str, float], tol: float = TOLERANCE) -> None:
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"finite differences disagree with backward: {bad} (tolerance {tol})"
