"""Optimizers follow Keras's update rules (written out independently here)."""

from __future__ import annotations

import numpy as np
import pytest

from minicnn import optimizers
from minicnn.errors import ConfigError
from minicnn.layers.base import Parameter


def run(opt, w0, grads):
    p = Parameter("w", w0.copy())
    for g in grads:
        p.grad = g
        opt.apply([p])
    return p.value


@pytest.fixture
def data(rng):
    w0 = rng.standard_normal(5)
    return w0, [rng.standard_normal(5) for _ in range(10)]


def test_sgd_plain(data):
    w0, grads = data
    expected = w0 - 0.1 * np.sum(grads, axis=0)
    np.testing.assert_allclose(run(optimizers.SGD(0.1), w0, grads), expected, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(data, nesterov):
    w0, grads = data
    w, v = w0.copy(), np.zeros_like(w0)
    for g in grads:
        v = 0.9 * v - 0.1 * g
        w = w + (0.9 * v - 0.1 * g if nesterov else v)
    np.testing.assert_allclose(run(optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov), w0, grads),
                               w, rtol=1e-12)


def test_adam_epsilon_hat(data):
    w0, grads = data
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    w, m, v = w0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(run(optimizers.Adam(lr), w0, grads), w, rtol=1e-12)


def test_adam_first_step_is_about_lr_times_sign():
    # |g| >> epsilon here; for |g| near 1e-5 epsilon visibly shrinks the step.
    w = run(optimizers.Adam(0.001), np.zeros(3), [np.array([5.0, -0.2, 0.05])])
    np.testing.assert_allclose(w, [-0.001, 0.001, -0.001], rtol=1e-3)


def test_rmsprop_epsilon_inside_sqrt(data):
    w0, grads = data
    w, v = w0.copy(), np.zeros(5)
    for g in grads:
        v = 0.9 * v + 0.1 * g * g
        w = w - 0.01 * g / np.sqrt(v + 1e-7)
    np.testing.assert_allclose(run(optimizers.RMSprop(0.01), w0, grads), w, rtol=1e-12)


def test_state_lives_in_the_optimizer_not_the_parameter(data):
    w0, grads = data
    opt = optimizers.Adam()
    p = Parameter("w", w0.copy())
    p.grad = grads[0]
    opt.apply([p])
    assert set(vars(opt)["_state"][id(p)]) == {"m", "v"}
    assert opt.iterations == 1


def test_non_trainable_parameters_are_not_updated():
    p = Parameter("moving_mean", np.zeros(3), trainable=False)
    p.grad = np.ones(3)
    optimizers.SGD(1.0).apply([p])
    np.testing.assert_array_equal(p.value, 0)


def test_names_and_errors():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert optimizers.get("Adam").epsilon == 1e-7
    with pytest.raises(ConfigError, match="unknown optimizer 'adamw_typo'"):
        optimizers.get("adamw_typo")
    with pytest.raises(ConfigError, match="learning_rate"):
        optimizers.SGD(learning_rate=0)
