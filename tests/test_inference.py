"""predict folds BatchNormalization into the Conv2D/Dense before it (minicnn/fast/folding.py): same results, fewer passes."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import layers, zoo
from minicnn.fast import PredictPlan

TOL = dict(rtol=1e-5, atol=1e-6)
ALL = 10**9   # so many images that every foldable pair pays for its folding


def _plan(model, images: int = ALL) -> PredictPlan:
    return PredictPlan(model._layers, model._sources(), model._output_indices(), images)


def _folded(model, x):
    """The model's output(s) through the plan with every foldable pair folded."""
    outputs, _ = _plan(model).run(x)
    return outputs[0] if isinstance(model, minicnn.Sequential) else outputs


def _with_statistics(model, rng):
    """Give every BatchNormalization moving statistics and weights far from their initial values."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            c = layer.gamma.value.shape
            layer.gamma.value[...] = rng.uniform(0.5, 2.0, c)
            layer.beta.value[...] = rng.normal(0, 1, c)
            layer.moving_mean.value[...] = rng.normal(0, 1, c)
            layer.moving_variance.value[...] = rng.uniform(0.2, 3.0, c)
        elif getattr(layer, "bias", None) is not None:
            layer.bias.value[...] = rng.normal(0, 0.5, layer.bias.value.shape)
    return model


def test_seed_cifar_model_predicts_the_same_folded(rng):
    model = _with_statistics(zoo.cifar10_cnn(seed=0), rng)
    x = rng.random((5, 32, 32, 3)).astype(np.float32)
    # 4 x (conv, bn, leaky) and (dense, bn, leaky) folded; flatten, dropout, dense2, softmax as they are
    assert len(_plan(model, ALL)) == 9
    np.testing.assert_allclose(_folded(model, x), model.forward(x)[-1], **TOL)
    np.testing.assert_allclose(model.predict(x, batch_size=2, verbose=0), model.forward(x)[-1], **TOL)


def test_a_pair_is_folded_only_when_that_pays():
    """Folding rescales the kernel once per call; it pays when the call's images give the
    BatchNorm more output values than the kernel has."""
    model = zoo.cifar10_cnn(seed=0)
    conv4, bn4 = model.get_layer("conv4"), model.get_layer("bn4")
    assert conv4.kernel.value.size == 36864 and np.prod(bn4.output_shape) == 4096
    # an unfolded (layer, BatchNorm, activation) triple is 3 steps instead of 1
    assert len(_plan(model, 9)) == 9 + 2 + 2   # conv4 and dense1 unfolded
    assert len(_plan(model, 10)) == 9 + 2      # conv4 folds at 10 images
    assert len(_plan(model, 4097)) == 9        # dense1 (4096x128) too


@pytest.mark.parametrize("after", [None, "relu", "leaky", "relu6", "tanh"])
@pytest.mark.parametrize("first", ["conv", "conv_no_bias", "depthwise", "dense"])
def test_every_foldable_pair_gives_the_layer_by_layer_result(first, after, rng):
    x_shape = (6, 6, 3) if first != "dense" else (7,)
    stack = [layers.Input(x_shape)]
    if first == "dense":
        stack.append(layers.Dense(4))
    elif first == "depthwise":      # output channel c*M + m: the scale must follow that order
        stack.append(layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2))
    else:
        stack.append(layers.Conv2D(4, 3, strides=2, padding="same", use_bias=first == "conv"))
    stack.append(layers.BatchNormalization())
    stack += {None: [], "relu": [layers.ReLU()], "leaky": [layers.LeakyReLU(0.2)],
              "relu6": [layers.ReLU(6.0)], "tanh": [layers.Activation("tanh")]}[after]
    model = _with_statistics(minicnn.Sequential(stack, seed=1), rng)
    x = rng.normal(0, 2, (3,) + x_shape).astype(np.float32)
    fused = after in ("relu", "leaky", "relu6")   # the ReLU family joins the folded step
    assert len(_plan(model, ALL)) == (1 if fused or after is None else 2)
    np.testing.assert_allclose(_folded(model, x), model.forward(x)[-1], **TOL)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.forward(x)[-1], **TOL)


def test_layers_that_cannot_fold_run_as_themselves(rng):
    model = minicnn.Sequential([
        layers.Input((8, 8, 2)),
        layers.Conv2D(3, 3, activation="relu"),          # activation before BN: no fold
        layers.BatchNormalization(),
        layers.Conv2DTranspose(3, 3),                    # its kernel is used transposed: no fold
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(2),
        layers.BatchNormalization(),
    ], seed=2)
    _with_statistics(model, rng)
    assert len(_plan(model, ALL)) == 6
    x = rng.random((2, 8, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(_folded(model, x), model.forward(x)[-1], **TOL)


def test_a_forward_hook_keeps_its_layer_unfolded(rng):
    model = _with_statistics(zoo.cifar10_cnn(seed=0), rng)
    seen = []
    model.get_layer("bn2").register_forward_hook(lambda layer, x, y: seen.append(y.shape))
    x = rng.random((3, 32, 32, 3)).astype(np.float32)
    assert len(_plan(model, ALL)) == 11   # conv2, bn2, leaky_relu2 run as themselves
    np.testing.assert_allclose(_folded(model, x), model.forward(x)[-1], **TOL)
    assert seen == [(3, 16, 16, 32)] * 2                     # the hook saw the plan and forward


def test_predict_sees_the_weights_of_the_moment(rng):
    """The folded weights are made afresh for each predict call, so training in between shows."""
    model = zoo.cifar10_cnn(seed=0)
    model.compile("sparse_categorical_crossentropy", minicnn.optimizers.Adam())
    x = rng.random((4, 32, 32, 3)).astype(np.float32)
    before = model.predict(x, verbose=0)
    model.train_on_batch(x, np.arange(4))
    after = model.predict(x, verbose=0)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model.forward(x)[-1], **TOL)


def test_functional_model_folds_only_what_nothing_else_reads(rng):
    """A layer is folded into its BatchNormalization only when that is its one reader and
    the layer's output is not a model output."""
    inputs = layers.Input((8, 8, 3))
    a = layers.Conv2D(4, 3, padding="same", name="a")(inputs)
    a_bn = layers.BatchNormalization(name="a_bn")(a)
    a_out = layers.LeakyReLU(name="a_act")(a_bn)                 # a + a_bn + a_act: one step
    b = layers.Conv2D(4, 1, name="b")(a_out)
    b_bn = layers.BatchNormalization(name="b_bn")(b)
    joined = layers.Add(name="add")([b, b_bn])                   # b is read twice: not folded
    c = layers.DepthwiseConv2D(3, padding="same", name="c")(joined)
    c_bn = layers.BatchNormalization(name="c_bn")(c)             # c is an output too: not folded
    model = minicnn.Model(inputs, [c_bn, c])
    _with_statistics(model, rng)
    plan = _plan(model)
    assert len(plan) == len(model._layers) - 2
    x = rng.random((2, 8, 8, 3)).astype(np.float32)
    outputs = model.forward(x)
    want = [outputs[i] for i in model._output_index]
    for got, expected in zip(_folded(model, x), want):
        np.testing.assert_allclose(got, expected, **TOL)
    for got, expected in zip(model.predict(x, verbose=0), want):
        np.testing.assert_allclose(got, expected, **TOL)


def test_mobilenet_v2_predicts_the_same_folded(rng):
    from minicnn.applications import MobileNetV2
    model = _with_statistics(MobileNetV2(input_shape=(48, 48, 3), alpha=0.35, weights=None), rng)
    plan = _plan(model)
    assert len(model._layers) - len(plan) == 52 + 35   # every BatchNormalization folded, and the 35 ReLU6 after them
    x = rng.uniform(-1, 1, (2, 48, 48, 3)).astype(np.float32)
    np.testing.assert_allclose(_folded(model, x)[0], model.forward(x)[-1], **TOL)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.forward(x)[-1], **TOL)


def test_evaluate_takes_the_folded_path_and_gives_the_layer_by_layer_loss(rng):
    model = _with_statistics(zoo.cifar10_cnn(seed=0), rng)
    model.compile("sparse_categorical_crossentropy", minicnn.optimizers.Adam(), metrics=["accuracy"])
    x = rng.random((40, 32, 32, 3)).astype(np.float32)   # 40 images: every conv pair folds
    y = rng.integers(0, 10, 40)
    assert len(_plan(model, len(x))) < len(model.layers)
    loss, accuracy = model.evaluate(x, y, batch_size=16, verbose=0)
    probs = model.forward(x)[-1]
    want = -np.mean(np.log(np.clip(probs[np.arange(40), y], 1e-7, 1.0)))
    np.testing.assert_allclose(loss, want, rtol=1e-5)
    assert accuracy == np.mean(probs.argmax(1) == y)
