"""A Conv2D and the max-pool that reads it, one pass after the product in predict (minicnn/fast/pooling.py)."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import activations, layers, zoo
from minicnn.fast.folding import PredictPlan
from minicnn.fast.pooling import ConvPoolStep


def _pair(activation, use_bias, pool, shape, dtype):
    minicnn.set_floatx(dtype)
    try:
        model = minicnn.Sequential([layers.Input(shape),
                                    layers.Conv2D(5, 3, padding="same", activation=activation,
                                                  use_bias=use_bias),
                                    pool], seed=7)
    finally:
        minicnn.set_floatx("float32")
    if use_bias:   # biases of both signs, so that the activation's kink shows
        model._layers[0].bias.value[...] = np.linspace(-0.5, 0.5, 5)
    return model


def _both_ways(model, x):
    """(the fused plan's output, the two steps' output: ConvStep then MaxPooling2D.forward)."""
    plan = PredictPlan(model._layers, model._sources(), model._output_indices(), len(x))
    assert isinstance(plan.entries[0][0], ConvPoolStep) and len(plan.entries) == 1
    conv, pool = model._layers
    from minicnn.fast.steps import ConvStep
    two_steps = pool.forward(ConvStep(conv).forward(x, training=False))
    return plan.run(x)[0][0], two_steps


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("pool, shape", [
    (lambda: layers.MaxPool2D(2), (8, 8, 3)),                            # the seed model's
    (lambda: layers.MaxPool2D(2), (7, 9, 3)),                            # odd sizes: a row left out
    (lambda: layers.MaxPool2D(3, strides=2, padding="same"), (7, 8, 2)),  # overlapping, padded
    (lambda: layers.MaxPool2D((2, 3), strides=(1, 2)), (6, 7, 2)),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_fused_pass_gives_the_two_steps_bits(activation, use_bias, pool, shape, dtype, rng):
    model = _pair(activation, use_bias, pool(), shape, dtype)
    x = rng.standard_normal((4,) + shape).astype(dtype)
    fused, two_steps = _both_ways(model, x)
    assert fused.dtype == two_steps.dtype == np.dtype(dtype)
    assert fused.shape == two_steps.shape
    assert np.array_equal(fused, two_steps)
    assert np.array_equal(np.signbit(fused), np.signbit(two_steps))


def test_nan_and_negative_zero_pass_as_in_the_two_steps():
    model = _pair("leaky_relu", False, layers.MaxPool2D(2), (4, 4, 1), "float32")
    model._layers[0].kernel.value[...] = 0.0
    model._layers[0].kernel.value[1, 1, 0, :] = -1.0      # z = -x at every pixel
    x = np.zeros((1, 4, 4, 1), np.float32)                 # z = -0.0: LeakyReLU keeps the sign
    x[0, 0, 0, 0] = np.nan                                 # the first cell of the first window
    x[0, 2, 3, 0] = np.nan                                 # a later cell of another window
    fused, two_steps = _both_ways(model, x)
    assert np.array_equal(fused, two_steps, equal_nan=True)
    assert np.array_equal(np.signbit(fused), np.signbit(two_steps))


def test_the_seed_mnist_model_fuses_its_three_pairs_and_predicts_the_same_bits(rng):
    model = zoo.mnist_cnn(seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    plan = PredictPlan(model._layers, model._sources(), model._output_indices(), 32)
    assert sum(isinstance(step, ConvPoolStep) for step, _, _ in plan.entries) == 3
    x = rng.random((8, 28, 28, 1), dtype=np.float32)
    expected = model.forward(x)[-1]                        # the plain layers, one by one
    assert np.array_equal(plan.run(x)[0][0], expected)


@pytest.mark.parametrize("case", ["capped", "hooked_pool", "two_readers", "average_pool", "tanh"])
def test_what_is_not_fused(case):
    inputs = layers.Input((6, 6, 2))
    activation = {"capped": activations.ReLU(max_value=6.0), "tanh": "tanh"}.get(case, "relu")
    z = layers.Conv2D(3, 3, padding="same", activation=activation)(inputs)
    pool = layers.AveragePooling2D(2) if case == "average_pool" else layers.MaxPool2D(2)
    outputs = [layers.Flatten()(pool(z))]
    if case == "two_readers":
        outputs.append(layers.Flatten()(z))
    model = minicnn.Model(inputs, outputs, seed=1)
    if case == "hooked_pool":
        pool.register_forward_hook(lambda layer, x, y: None)
    plan = PredictPlan(model._layers, model._sources(), model._output_indices(), 8)
    assert not any(isinstance(step, ConvPoolStep) for step, _, _ in plan.entries)
