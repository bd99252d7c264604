"""One Adam step on one weight array, in place, in one pass: what it accelerates is
``minicnn.optimizers.Adam.update``, whose formulas it computes.

With g the gradient, m and v the two moment slots, and the bias corrections
folded into the step size (as Keras does)::

    m     <- m + (g - m) * (1 - beta_1)
    v     <- v + (g*g - v) * (1 - beta_2)
    w     <- w - alpha * m / (sqrt(v) + epsilon)
    alpha  = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)

``adam_step_reference`` is that in NumPy: each ``+``, ``*``, ``sqrt`` and ``/``
makes a full-size temporary, about ten passes over memory per weight array.
``adam_step`` is the same arithmetic, jitted, in one pass. Both take the scalars
already converted to the weights' dtype, so float32 weights are updated in
float32 arithmetic by both, as by Keras, and the two agree to rounding
(a test proves it).

Shapes: w, g, m, v all the same shape (any), updated in place; returns None.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..optimizers import Adam


def adam_step_reference(w, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon) -> None:
    m += (g - m) * one_minus_beta_1
    v += (g * g - v) * one_minus_beta_2
    w -= m * alpha / (np.sqrt(v) + epsilon)


# error_model="numpy": a division by zero gives inf, as in NumPy, instead of
# a Python exception - without it Numba checks every divisor, and the loop
# cannot use the CPU's vector instructions.
@njit(cache=True, error_model="numpy")
def _adam_step_flat(w, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    # Serial on purpose: the weight arrays are small (a bias has tens of values),
    # and a parallel launch costs more than this whole loop on most of them.
    for i in range(w.size):
        mi = m[i] + (g[i] - m[i]) * one_minus_beta_1
        vi = v[i] + (g[i] * g[i] - v[i]) * one_minus_beta_2
        m[i] = mi
        v[i] = vi
        w[i] -= mi * alpha / (np.sqrt(vi) + epsilon)


def adam_step(w, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon) -> None:
    """Same as :func:`adam_step_reference`, jitted."""
    if not (w.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous):
        # reshape(-1) would copy, and the update would land in the copy
        adam_step_reference(w, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon)
        return
    dtype = w.dtype.type
    # reshape(-1) of a C-contiguous array is a view, so the flat loop writes into w, m, v
    _adam_step_flat(w.reshape(-1), np.ascontiguousarray(g, dtype=w.dtype).reshape(-1), m.reshape(-1),
                    v.reshape(-1), dtype(alpha), dtype(one_minus_beta_1), dtype(one_minus_beta_2), dtype(epsilon))


def apply_optimizer(optimizer, params) -> None:
    """``optimizer.apply(params)``, with Adam's update (and AdamW's) in the one-pass kernel above.

    Any other optimizer runs its own (NumPy) ``apply``. Clipping, weight decay
    and the step size alpha are the optimizer's own methods, so the two paths
    share every scalar and every step but the update itself.
    """
    if not isinstance(optimizer, Adam):
        optimizer.apply(params)
        return
    learning_rate = optimizer.current_learning_rate()
    pairs = optimizer.clipped_gradients(params)
    optimizer.decay_weights(params, learning_rate)
    for p, g in pairs:
        f = p.value.dtype.type
        state = optimizer.state_of(p)
        adam_step(p.value, g, state["m"], state["v"], optimizer.step_size(f, learning_rate),
                  1 - f(optimizer.beta_1), 1 - f(optimizer.beta_2), f(optimizer.epsilon))
    optimizer.iterations += 1
