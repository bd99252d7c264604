"""The fast ``predict`` of a convolution followed by a max-pool: one pass after the product.

What it accelerates: a ``Conv2D`` with a ReLU or LeakyReLU activation whose
one reader is a ``MaxPooling2D`` (the seed MNIST model has three such pairs),
in ``predict`` and ``evaluate``. Run as two steps, the pair makes two passes
over the convolution's output z, the largest array of the pair::

    y = f(z + b)                    bias + activation, written over z    (steps.ConvStep)
    p = max over each window of y   and the argmax, kept for a backward  (MaxPooling2D.forward)

``predict`` needs neither y nor the argmax, so here the pool reads z once and
computes, for each window, the max of f(z + b) over its cells: the same
float32 operations as the two steps, cell by cell (the bias added, the
activation, then the comparisons in the pool kernel's order, strict ``>``,
the first cell first), so the same bits, written straight into the pooled
output, a quarter of z's size for a 2x2 pool.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..layers.conv2d import Conv2D
from ..kernels.pool_numba import window
from ..layers.pooling import MaxPooling2D
from .steps import ConvStep


@njit(cache=True, nogil=True)  # serial on purpose: see minicnn/_threads.py
def bias_activation_max_pool(z, bias, with_bias, slope, leaky, pool_h, pool_w, stride_h, stride_w,
                             pad_top, pad_left, out_h, out_w):
    """p[n, i, j, c] = max over window (i, j) of f(z[n, h, w, c] + bias[c]) (f(z) when
    ``with_bias`` is False: adding 0 would turn a -0.0 into +0.0).

    f is ReLU (``leaky`` False: ``0 if v <= 0 else v``) or LeakyReLU (``v if v > 0
    else slope * v``), as ``elementwise._bias_leaky_rows``; the window loop is
    ``pool_numba.max_pool2d_forward``'s.
    """
    n_batch, in_h, in_w, chans = z.shape
    s = z.dtype.type(slope)
    p = np.empty((n_batch, out_h, out_w, chans), dtype=z.dtype)
    for n in range(n_batch):
        for i in range(out_h):
            h0, h1 = window(i, stride_h, pad_top, pool_h, in_h)
            for j in range(out_w):
                w0, w1 = window(j, stride_w, pad_left, pool_w, in_w)
                first = True                      # the window's first cell sets the max
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        for c in range(chans):
                            v = z[n, h, w, c] + bias[c] if with_bias else z[n, h, w, c]
                            if leaky:
                                y = v if v > 0 else s * v
                            else:
                                y = 0 if v <= 0 else v
                            if first or y > p[n, i, j, c]:
                                p[n, i, j, c] = y
                        first = False
    return p


class ConvPoolStep(ConvStep):
    """``Conv2D`` (bias + ReLU/LeakyReLU, ``self.relu`` from ``ConvStep``) and the
    ``MaxPooling2D`` that reads it, in inference."""

    def __init__(self, layer, pool: MaxPooling2D) -> None:
        super().__init__(layer)
        self.pool = pool

    def forward(self, x, training=False):
        z = self.linear(x, training=False)
        (ph, pw), (sh, sw), geo = self.pool.pool_size, self.pool.strides, self.pool.geometry()
        with_bias = self.layer.bias is not None
        bias = self.layer.bias.value if with_bias else np.zeros(z.shape[-1], z.dtype)
        leaky = self.relu.slope is not None
        self.preactivation = None
        return bias_activation_max_pool(z, bias, with_bias, self.relu.slope if leaky else 0.0, leaky,
                                        ph, pw, sh, sw, geo.pad_top, geo.pad_left, geo.out_h, geo.out_w)


def pooled_step(layer, reader) -> ConvPoolStep | None:
    """The fused step for a Conv2D and the layer that alone reads it, or None when
    they are not a Conv2D with ReLU/LeakyReLU (no cap) and a MaxPooling2D."""
    if type(layer) is not Conv2D or type(reader) is not MaxPooling2D or layer._hooks or reader._hooks:
        return None
    step = ConvPoolStep(layer, reader)
    return step if step.relu is not None and step.relu.cap is None else None
