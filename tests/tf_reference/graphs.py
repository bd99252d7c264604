"""Functional-API models built the same way in Keras and in minicnn (no TensorFlow here).

Each builder takes the library's ``layers`` module, its ``Input`` and its
``Model``, so the very same lines make both models; the cases in
``cases.MODEL_CASES`` name them.
"""

from __future__ import annotations


def functional_graph(layers, Input, Model, input_shape):  # noqa: N803 - the libraries' names
    """A residual Add, a Concatenate, a DepthwiseConv2D and a Conv2DTranspose."""
    inputs = Input(input_shape)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    a = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    b = layers.Conv2D(16, 1)(x)
    s = layers.Add()([a, b])                          # a residual-style join
    t = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="tanh")(s)
    u = layers.Conv2D(4, 2, strides=2, padding="valid")(t)
    c = layers.Concatenate()([u, layers.ZeroPadding2D(((0, 0), (0, 0)))(x)])  # x feeds 3 layers
    h = layers.ReLU(6.0)(layers.BatchNormalization()(c))
    p = layers.GlobalAveragePooling2D()(h)
    return Model(inputs, layers.Dense(10, activation="softmax")(p))


def regularized_cnn(layers, regularizers, Input, Model, input_shape):  # noqa: N803
    """Every kind of penalty: L2 and L1L2 kernels, an L1 bias, on Conv2D, DepthwiseConv2D and Dense."""
    inputs = Input(input_shape)
    x = layers.Conv2D(6, 3, padding="same", activation="relu", kernel_regularizer=regularizers.L2(0.01),
                      bias_regularizer=regularizers.L1(0.02))(inputs)
    x = layers.DepthwiseConv2D(3, strides=2, depthwise_regularizer=regularizers.L1L2(l1=0.001, l2=0.01))(x)
    x = layers.Flatten()(x)
    return Model(inputs, layers.Dense(10, activation="softmax", kernel_regularizer=regularizers.L2(0.005))(x))


# Small enough for a test, and every block type occurs; logits out, so that the input
# gradient compared is that of the top logit.
MOBILENET = dict(alpha=0.35, classes=10, classifier_activation=None)
