"""MobileNetV2 (Sandler et al., 2018), with Keras's architecture and layer names.

The network is a stem convolution, 17 *inverted residual blocks*, a 1x1
convolution to 1280 channels and the classifier. One block, with input of
C channels, expansion t (6, or 1 in block 0) and output channels C'::

    input (H, W, C)
      |  block_N_expand        Conv2D 1x1, C -> t*C       widen (not in block 0)
      |  block_N_expand_BN, block_N_expand_relu (ReLU6)
      |  block_N_pad           ZeroPadding2D               only when stride 2
      |  block_N_depthwise     DepthwiseConv2D 3x3        filter each channel alone
      |  block_N_depthwise_BN, block_N_depthwise_relu (ReLU6)
      |  block_N_project       Conv2D 1x1, t*C -> C'      narrow again, *no* activation
      |  block_N_project_BN
      + block_N_add            Add(input, ...)             only if C == C' and stride 1

"Inverted": the residual connection joins the *narrow* ends, and the block is
wide in the middle - the opposite of ResNet's bottleneck. The projection has
no ReLU because ReLU on a narrow tensor destroys information.
Block 0 is named ``expanded_conv_`` instead of ``block_0_`` (Keras's names).

A stride-2 block pads explicitly and then convolves with ``'valid'``: for an
even input, Keras's ``correct_pad`` puts 0 rows on top and 1 at the bottom
(for an odd one, 1 and 1) - written out here so that the names and shapes
match Keras layer for layer.
"""

from __future__ import annotations

import os
from contextlib import nullcontext

import numpy as np

from .. import layers, seeding
from ..errors import ConfigError
from ..io.keras_weights import load_keras_weights
from ..model.functional import Model

IMAGENET_HELP = (
    "minicnn downloads nothing at run time. On a machine with internet access, run\n"
    "    import keras; keras.applications.MobileNetV2(weights='imagenet').save_weights('mobilenet_v2.weights.h5')\n"
    "(or take Keras's cached mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5 from\n"
    "~/.keras/models/), copy the file here and pass weights='path/to/that/file'.")


def _make_divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of 8, never more than 10% below ``v``."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _correct_pad(size: tuple[int, int], kernel: int = 3) -> tuple[tuple[int, int], tuple[int, int]]:
    """Padding before a stride-2 'valid' 3x3 conv, as Keras's ``correct_pad``."""
    adjust = (1 - size[0] % 2, 1 - size[1] % 2)
    half = kernel // 2
    return ((half - adjust[0], half), (half - adjust[1], half))


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(momentum=0.999, epsilon=1e-3, name=name)


def _inverted_res_block(inputs, expansion: int, stride: int, alpha: float, filters: int, block_id: int):
    in_channels = inputs.shape[-1]
    out_channels = _make_divisible(int(filters * alpha), 8)
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    x = inputs
    if block_id:
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = _bn(f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(_correct_pad(x.shape[1:3]), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = _bn(f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _bn(f"{prefix}project_BN")(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


# (filters, stride, expansion) of blocks 0..16
_BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
           (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
           (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]


def MobileNetV2(input_shape=None, alpha: float = 1.0, include_top: bool = True,  # noqa: N802 - Keras's name
                weights: str | os.PathLike | None = None, classes: int = 1000,
                pooling: str | None = None, classifier_activation: str | None = "softmax",
                name: str | None = None, seed: int | None = None) -> Model:
    """MobileNetV2 as in ``keras.applications.MobileNetV2`` (channels last).

    Parameters
    ----------
    input_shape : (H, W, 3), optional
        Default (224, 224, 3); H and W at least 32.
    alpha : float
        Width multiplier: every layer's channels scaled by ``alpha``.
    include_top : bool
        Add global average pooling and the ``predictions`` Dense layer.
    weights : None or path
        A Keras weights file for the same configuration (``.weights.h5``,
        ``.keras``, or Keras's legacy ``.h5``), loaded with
        ``minicnn.io.load_keras_weights``. ``"imagenet"`` is not downloaded:
        see ``IMAGENET_HELP``.
    pooling : None, "avg" or "max"
        Without the top: the 4-D block output, or its global average or maximum.
    seed : int, optional
        Seeds the initial weights (without ``weights``) and training's generator.
    """
    if weights == "imagenet":
        raise ConfigError("MobileNetV2(weights='imagenet'): " + IMAGENET_HELP)
    input_shape = tuple(input_shape) if input_shape is not None else (224, 224, 3)
    if len(input_shape) != 3 or min(input_shape[:2]) < 32 or input_shape[2] <= 0:
        raise ConfigError(f"MobileNetV2: input_shape must be (H, W, C) with H, W >= 32, got {input_shape}")
    if not alpha > 0:
        raise ConfigError(f"MobileNetV2: alpha must be > 0, got {alpha}")
    if pooling not in (None, "avg", "max"):
        raise ConfigError(f"MobileNetV2: pooling must be None, 'avg' or 'max', got {pooling!r}")

    source = seeding.drawing_from(np.random.default_rng(seed)) if seed is not None else nullcontext()
    with source:  # layers draw their initial weights as they are called
        inputs = layers.Input(input_shape)
        x = layers.Conv2D(_make_divisible(32 * alpha, 8), 3, strides=2, padding="same", use_bias=False,
                          name="Conv1")(inputs)
        x = _bn("bn_Conv1")(x)
        x = layers.ReLU(6.0, name="Conv1_relu")(x)
        for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
            x = _inverted_res_block(x, expansion, stride, alpha, filters, block_id)
        last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
        x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
        x = _bn("Conv_1_bn")(x)
        x = layers.ReLU(6.0, name="out_relu")(x)
        if include_top:
            x = layers.GlobalAveragePooling2D()(x)
            x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
        elif pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
    model = Model(inputs, x, name=name or f"mobilenetv2_{alpha:0.2f}_{input_shape[0]}", seed=seed)
    if weights is not None:
        load_keras_weights(model, weights)
    return model
