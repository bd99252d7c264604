"""``BatchNormalization``: standardize each channel, then scale and shift.

Works on 2-D ``(N, C)`` and 4-D ``(N, H, W, C)`` input; the statistics are
taken over every axis but the last (for images: over the batch *and* the
pixels, one mean and variance per channel). M below is the number of values
per channel (N, or N*H*W).

Weights, in Keras's order: ``gamma`` (scale, init 1) and ``beta`` (shift,
init 0), trainable; ``moving_mean`` (init 0) and ``moving_variance`` (init 1),
not trainable.

Training forward (batch statistics)::

    mu    = mean(x)                       over the M values of each channel
    var   = mean((x - mu)^2)              *biased* (divide by M, not M - 1)
    x_hat = (x - mu) / sqrt(var + eps)
    y     = gamma * x_hat + beta
    moving_mean     <- momentum * moving_mean     + (1 - momentum) * mu
    moving_variance <- momentum * moving_variance + (1 - momentum) * var

Keras updates the moving variance with the same biased ``var`` (many
textbooks use the unbiased M/(M-1) * var there; Keras does not).

Inference forward: the same with ``moving_mean`` / ``moving_variance`` in
place of mu / var, so the output of one image does not depend on the others.
A layer with ``trainable = False`` (frozen for transfer learning) runs this
way in training too, as in Keras.

Backward (training), from dy; with s = sqrt(var + eps)::

    dbeta  = sum(dy)
    dgamma = sum(dy * x_hat)
    dx     = gamma / s * (dy - mean(dy) - x_hat * mean(dy * x_hat))

The last line is what remains after differentiating through mu and var too:
every x moves the batch statistics, so each dx also depends on all the other
dy of its channel. In inference mu and var are constants and
``dx = gamma / s * dy``.

The fast training step (``minicnn/fast/batchnorm.py``) computes the same
formulas in two passes over memory instead of NumPy's many temporaries.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ShapeError
from .base import Layer


class BatchNormalization(Layer):
    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"BatchNormalization {self.name!r}: momentum must be in [0, 1], got {momentum}")
        if epsilon <= 0:
            raise ConfigError(f"BatchNormalization {self.name!r}: epsilon must be > 0, got {epsilon}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def _create_weights(self, input_shape, rng):
        if len(input_shape) not in (1, 3):
            raise ShapeError(
                f"{self._describe()} supports 2-D (N, C) and 4-D (N, H, W, C) input, "
                f"got input of shape {(None,) + tuple(input_shape)}")
        channels = (input_shape[-1],)
        self.gamma = self.add_weight("gamma", channels, "ones", rng)
        self.beta = self.add_weight("beta", channels, "zeros", rng)
        self.moving_mean = self.add_weight("moving_mean", channels, "zeros", rng, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", channels, "ones", rng, trainable=False)

    def forward(self, x, training=False):
        # a frozen BatchNormalization runs in inference mode, as in Keras (transfer learning)
        training = training and self.trainable
        self._training = training
        axes = tuple(range(x.ndim - 1))          # every axis but the channels
        dtype = x.dtype
        if training:
            # float64 sums: the mean of 32k float32 values stays exact to float32 precision
            mean = x.mean(axis=axes, dtype=np.float64)
            var = ((x - mean) ** 2).mean(axis=axes)            # biased, as Keras
            self.update_moving_statistics(mean.astype(dtype), var.astype(dtype))
        else:
            mean, var = self.moving_mean.value, self.moving_variance.value
        self._mean = mean.astype(dtype)
        self._inv_std = (1.0 / np.sqrt(var + self.epsilon)).astype(dtype)    # 1 / s
        self._x_hat = (x - self._mean) * self._inv_std
        return self.gamma.value * self._x_hat + self.beta.value

    def update_moving_statistics(self, mean: np.ndarray, var: np.ndarray) -> None:
        """moving <- momentum * moving + (1 - momentum) * batch statistic."""
        m = self.momentum
        self.moving_mean.value[...] = m * self.moving_mean.value + (1 - m) * mean
        self.moving_variance.value[...] = m * self.moving_variance.value + (1 - m) * var

    def backward(self, dy):
        axes = tuple(range(dy.ndim - 1))
        x_hat, inv_std, gamma = self._x_hat, self._inv_std, self.gamma.value
        # float64 sums: these sums of 32k values cancel, and float32 would lose their digits
        dbeta = dy.sum(axis=axes, dtype=np.float64)
        dgamma = (dy * x_hat).sum(axis=axes, dtype=np.float64)
        self.beta.grad, self.gamma.grad = dbeta.astype(dy.dtype), dgamma.astype(dy.dtype)
        if not self._training:
            return dy * (gamma * inv_std)        # the statistics are constants
        m = dy.size // dy.shape[-1]               # values per channel
        mean_dy, mean_dy_x_hat = (dbeta / m).astype(dy.dtype), (dgamma / m).astype(dy.dtype)
        return gamma * inv_std * (dy - mean_dy - x_hat * mean_dy_x_hat)

    def get_config(self):
        return {"name": self.name, "momentum": self.momentum, "epsilon": self.epsilon}
