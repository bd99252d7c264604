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

Backward (training), from dy; with s = sqrt(var + eps)::

    dbeta  = sum(dy)
    dgamma = sum(dy * x_hat)
    dx     = gamma / s * (dy - mean(dy) - x_hat * mean(dy * x_hat))

The last line is what remains after differentiating through mu and var too:
every x moves the batch statistics, so each dx also depends on all the other
dy of its channel. In inference mu and var are constants and
``dx = gamma / s * dy``.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ShapeError
from ..kernels import batchnorm
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
        self._training = training
        if training:
            # The formulas above on the (M, C) view of x, one column per channel,
            # in the jitted kernels of minicnn/kernels/batchnorm.py.
            # x_hat is not kept for the backward: it is rebuilt there from x (kept
            # by the layer before as its output anyway) and the batch mean.
            x2d = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
            y, mu, var, self._inv_std = batchnorm.forward(
                x2d, self.gamma.value, self.beta.value, self.epsilon)
            self._x2d, self._mean = x2d, mu
            m = self.momentum
            self.moving_mean.value[...] = m * self.moving_mean.value + (1 - m) * mu
            self.moving_variance.value[...] = m * self.moving_variance.value + (1 - m) * var
            return y.reshape(x.shape)
        mu, var = self.moving_mean.value, self.moving_variance.value
        self._inv_std = (1.0 / (var + self.epsilon) ** 0.5).astype(x.dtype)  # 1 / s, one per channel
        self._x = x   # a backward (trace, saliency) rebuilds x_hat from it; predict never needs it
        y = batchnorm.normalize(np.ascontiguousarray(x).reshape(-1, x.shape[-1]),
                                mu, self._inv_std, self.gamma.value, self.beta.value)
        return y.reshape(x.shape)

    def rebuild_output(self) -> np.ndarray:
        """The last training forward's y again, from what it kept (x, mean, 1/s).

        For ``nonfinite.diagnose``: in a training step the activation after this
        layer may have written over y (see ``Sequential._step_forward``).
        """
        y = batchnorm.normalize(self._x2d, self._mean, self._inv_std, self.gamma.value, self.beta.value)
        return y.reshape((-1,) + tuple(self.output_shape))

    def backward(self, dy):
        return self._backward(dy, over=False)

    def backward_over(self, dy):
        """``backward``, with dx written over dy (see ``Layer.backward_over``)."""
        over = self._training and dy.flags.c_contiguous and dy.flags.writeable and dy.dtype == self._x2d.dtype
        return self._backward(dy, over=over)

    def _backward(self, dy, over: bool):
        if self._training:
            channels = dy.shape[-1]
            dx, self.gamma.grad, self.beta.grad = batchnorm.backward(
                dy.reshape(-1, channels), self._x2d, self._mean, self.gamma.value, self._inv_std, over=over)
            return dx.reshape(dy.shape)
        axes = tuple(range(dy.ndim - 1))
        x_hat = (self._x - self.moving_mean.value) * self._inv_std
        self.beta.grad = dy.sum(axis=axes)
        self.gamma.grad = (dy * x_hat).sum(axis=axes)
        return dy * (self.gamma.value * self._inv_std)

    def get_config(self):
        return {"name": self.name, "momentum": self.momentum, "epsilon": self.epsilon}
