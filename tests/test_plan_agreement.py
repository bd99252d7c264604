"""The fast plan (``compile(jit_compile=True)``) and the plain layers (``jit_compile=False``) are one model.

Each case trains two copies of one model, one on each path, from the same
weights and data, and compares the losses, every weight (moving statistics
included) after a few steps, and ``predict``.

Training gives the same bits on both paths, in float32 as in float64: each
fused kernel does the plain layer's arithmetic value by value - the same
float32 operations in the same order, and every long sum (bias gradients,
BatchNorm's statistics and its two gradient sums) added up in float64 on
both paths, so that the two sums, though taken in different orders, round to
the same float32 number. (Before the sums were made float64 on both paths, a
float32 difference of one unit in the last place could put one value on the
other side of a LeakyReLU's kink, and after 4 steps the seed CIFAR-10 model's
weights differed by up to 2.3e-3.)

``predict`` folds each BatchNormalization into the layer before it: the
products are grouped differently, so there the two paths agree to float32
rounding (1e-5), not to the bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import layers, zoo
from minicnn.fast.steps import ActivationStep, BatchNormStep, ConvStep, DenseStep, PlainStep


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (0 when both are 0)."""
    scale = np.linalg.norm(b.astype(np.float64))
    diff = np.linalg.norm(a.astype(np.float64) - b)
    return float(diff / scale) if scale > 0 else float(diff)


def _run(build, x, y, jit: bool, steps: int, optimizer, loss="sparse_categorical_crossentropy"):
    """Train a fresh copy ``steps`` steps on one path; return losses, named weights, predict."""
    minicnn.set_seed(1234)       # the same initial weights and Dropout seeds for both copies
    model = build()
    model.compile(loss=loss, optimizer=optimizer(), jit_compile=jit)
    losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
    weights = [(f"{layer.name}.{p.name}", p.value.copy()) for layer in model._layers for p in layer.weights]
    return losses, weights, model.predict(x, batch_size=len(x), verbose=0), model


def _biases_before_batchnorm(model) -> set[str]:
    """The biases of layers read by a BatchNormalization: BatchNorm subtracts their
    effect, so their true gradient is 0 and each path computes its own rounding noise
    (about 1e-13 in float64; in float32 both paths round that noise to the same bits)."""
    names = set()
    for i, sources in enumerate(model._sources()):
        if isinstance(model._layers[i], layers.BatchNormalization):
            names |= {f"{model._layers[s].name}.bias" for s in sources
                      if s >= 0 and getattr(model._layers[s], "bias", None) is not None}
    return names


def _assert_same_model(build, x, y, steps=3, optimizer=lambda: minicnn.optimizers.Adam(1e-2),
                       predict_tol=1e-5, loss="sparse_categorical_crossentropy"):
    """float32: losses and weights equal to the bit. float64: within 1e-9 relative, since
    there the float64 sums taken in different orders are not rounded to a narrower type:
    measured, up to ~1e-14 for the weights, and ~6e-12 for a moving mean, which tracks
    the batch mean of a layer whose bias is noise of ~1e-12 (see _biases_before_batchnorm).
    predict within ``predict_tol`` (BatchNorm folded)."""
    fast = _run(build, x, y, True, steps, optimizer, loss)
    plain = _run(build, x, y, False, steps, optimizer, loss)
    tol = 0.0 if x.dtype == np.float32 else 1e-9
    noise = set() if x.dtype == np.float32 else _biases_before_batchnorm(fast[3])
    np.testing.assert_allclose(fast[0], plain[0], rtol=tol, atol=0)
    for (name, a), (_, b) in zip(fast[1], plain[1]):
        if name not in noise:
            assert _relative(a, b) <= tol, f"{name}: {_relative(a, b):.2e}"
    fast_out = fast[2] if isinstance(fast[2], list) else [fast[2]]
    plain_out = plain[2] if isinstance(plain[2], list) else [plain[2]]
    for a, b in zip(fast_out, plain_out):
        assert _relative(a, b) <= predict_tol
    return fast[3], plain[3]


def _sequential(stack, seed=0):
    return lambda: minicnn.Sequential([layers.Input((6, 6, 3))] + [make() for make in stack], seed=seed)


# one model per layer type (each ends in a Dense softmax classifier of 3 classes)
_HEAD = [layers.Flatten, lambda: layers.Dense(3, activation="softmax")]
_LAYER_CASES = {
    "conv_relu": [lambda: layers.Conv2D(4, 3, padding="same", activation="relu")],
    "conv_leaky": [lambda: layers.Conv2D(4, 3, strides=2, activation="leaky_relu")],
    "conv_tanh_no_bias": [lambda: layers.Conv2D(4, 2, activation="tanh", use_bias=False)],
    "conv_relu_no_bias": [lambda: layers.Conv2D(4, 2, activation="relu", use_bias=False)],
    "conv_bn_leaky": [lambda: layers.Conv2D(4, 3, padding="same"), layers.BatchNormalization,
                      lambda: layers.LeakyReLU(0.2)],
    "depthwise": [lambda: layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu")],
    "transpose": [lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same", activation="leaky_relu")],
    "pools": [lambda: layers.Conv2D(4, 1), layers.MaxPool2D, lambda: layers.AveragePooling2D(2, 1, "same")],
    "relu_layers": [lambda: layers.Conv2D(4, 3), layers.ReLU, lambda: layers.Conv2D(4, 2),
                    lambda: layers.ReLU(max_value=6.0)],
    "activation_layer": [lambda: layers.Conv2D(4, 3), lambda: layers.Activation("sigmoid")],
    "zero_padding_dropout": [layers.ZeroPadding2D, lambda: layers.Conv2D(4, 3, activation="relu"),
                             lambda: layers.Dropout(0.3)],
}


@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(_LAYER_CASES))
def test_every_layer_type_trains_the_same_on_both_paths(case, floatx, rng):
    with minicnn.config.using(floatx=floatx):
        build = _sequential(_LAYER_CASES[case] + _HEAD)
        x, y = rng.standard_normal((5, 6, 6, 3)).astype(floatx), rng.integers(0, 3, 5)
        _assert_same_model(build, x, y)


@pytest.mark.parametrize("case", ["global_avg", "global_max", "dense_bn", "dense_relu_softmax_layer"])
def test_every_head_trains_the_same_on_both_paths(case, rng):
    stack = {
        "global_avg": [lambda: layers.Conv2D(4, 3, activation="relu"), layers.GlobalAveragePooling2D,
                       lambda: layers.Dense(3, activation="softmax")],
        "global_max": [lambda: layers.Conv2D(4, 3), layers.GlobalMaxPooling2D,
                       lambda: layers.Dense(3, activation="softmax")],
        "dense_bn": [layers.Flatten, lambda: layers.Dense(8), layers.BatchNormalization, layers.LeakyReLU,
                     lambda: layers.Dense(3, activation="softmax")],
        "dense_relu_softmax_layer": [layers.Flatten, lambda: layers.Dense(8, activation="relu"),
                                     lambda: layers.Dense(3), layers.Softmax],
    }[case]
    x, y = rng.standard_normal((5, 6, 6, 3)).astype(np.float32), rng.integers(0, 3, 5)
    _assert_same_model(_sequential(stack), x, y)


def _residual():
    inputs = layers.Input((6, 6, 3))
    a = layers.Conv2D(4, 3, padding="same", name="a")(inputs)
    a = layers.BatchNormalization(name="a_bn")(a)
    a = layers.ReLU(name="a_relu")(a)
    b = layers.Conv2D(4, 3, padding="same", activation="relu", name="b")(a)
    joined = layers.Add(name="add")([a, b])                     # a feeds two layers
    c = layers.DepthwiseConv2D(3, padding="same", name="c")(joined)
    c = layers.BatchNormalization(name="c_bn")(c)
    c = layers.LeakyReLU(name="c_act")(c)
    both = layers.Concatenate(name="cat")([joined, c])
    pooled = layers.GlobalAveragePooling2D(name="gap")(both)
    return minicnn.Model(inputs, layers.Dense(3, activation="softmax", name="out")(pooled), seed=3)


def test_a_functional_graph_trains_the_same_on_both_paths(rng):
    x, y = rng.standard_normal((5, 6, 6, 3)).astype(np.float32), rng.integers(0, 3, 5)
    _assert_same_model(_residual, x, y, steps=4)


def test_mobilenet_v2_trains_and_predicts_the_same_on_both_paths(rng):
    from minicnn.applications import MobileNetV2
    build = lambda: MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=4)  # noqa: E731
    x, y = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32), np.array([0, 3])
    _assert_same_model(build, x, y, steps=2)


@settings(max_examples=12)
@given(seed=st.integers(0, 2**16), depth=st.integers(1, 3), batchnorm=st.booleans(),
       activation=st.sampled_from(["relu", "leaky_relu", "linear", "tanh"]),
       between=st.sampled_from([None, "relu", "leaky", "pool"]), graph=st.booleans(),
       floatx=st.sampled_from(["float32", "float64"]))
def test_generated_models_are_one_model_on_both_paths(seed, depth, batchnorm, activation, between, graph,
                                                      floatx):
    """Random stacks of conv [+ BatchNorm] [+ activation layer or pool], as a Sequential or as
    the same chain with a residual Add."""
    rng = np.random.default_rng(seed)

    def block(i):
        stack = [layers.Conv2D(3, 3, padding="same", activation=activation, name=f"conv{i}")]
        if batchnorm:
            stack.append(layers.BatchNormalization(name=f"bn{i}"))
        if between == "relu":
            stack.append(layers.ReLU(name=f"relu{i}"))
        elif between == "leaky":
            stack.append(layers.LeakyReLU(name=f"leaky{i}"))
        return stack

    def build():
        minicnn.clear_session()
        if not graph:
            stack = [layers.Input((6, 6, 3))]
            for i in range(depth):
                stack += block(i)
            if between == "pool":
                stack.append(layers.MaxPool2D(name="pool"))
            return minicnn.Sequential(stack + [layers.Flatten(name="flat"),
                                               layers.Dense(3, activation="softmax", name="out")], seed=seed)
        inputs = layers.Input((6, 6, 3))
        t = inputs
        for i in range(depth):
            first = t
            for layer in block(i):
                t = layer(t)
            t = layers.Add(name=f"add{i}")([t, first]) if i > 0 else t
        t = layers.GlobalMaxPooling2D(name="gmp")(t)
        return minicnn.Model(inputs, layers.Dense(3, activation="softmax", name="out")(t), seed=seed)

    with minicnn.config.using(floatx=floatx):
        x, y = rng.standard_normal((4, 6, 6, 3)).astype(floatx), rng.integers(0, 3, 4)
        _assert_same_model(build, x, y)


def test_a_training_forward_without_batchnorm_gives_the_plain_bits(rng):
    """float32: the fused bias + activation is the same arithmetic as NumPy's, value by value."""
    model = zoo.mnist_cnn(seed=0)
    model.compile("sparse_categorical_crossentropy", "adam")
    x = rng.random((8, 28, 28, 1), dtype=np.float32)
    dropout_rngs = [layer._rng for layer in model.layers if isinstance(layer, layers.Dropout)]
    states = [g.bit_generator.state for g in dropout_rngs]
    fast = model._training_plan().forward(x)
    for g, state in zip(dropout_rngs, states):
        g.bit_generator.state = state                # the same masks
    np.testing.assert_array_equal(fast, model.forward(x, training=True)[-1])


@pytest.mark.parametrize("data_seed", [0, 1])
@pytest.mark.parametrize("optimizer", ["sgd_momentum", "adam"])
def test_seed_cifar_model_trains_to_the_same_bits(optimizer, data_seed):
    """The seed CIFAR-10 model (dropout included), 4 steps in float32: the same weights to the bit."""
    data = np.random.default_rng(data_seed)
    x, y = data.random((32, 32, 32, 3), dtype=np.float32), data.integers(0, 10, 32)
    make = {"sgd_momentum": lambda: minicnn.optimizers.SGD(0.01, momentum=0.9),
            "adam": lambda: minicnn.optimizers.Adam(5e-4)}[optimizer]
    fast, plain = _assert_same_model(lambda: zoo.cifar10_cnn(seed=data_seed), x, y, steps=4, optimizer=make)
    assert _relative(fast.predict(x, verbose=0), plain.predict(x, verbose=0)) <= 1e-5


def test_the_plan_uses_a_fast_step_for_each_known_layer():
    model = zoo.cifar10_cnn(seed=0)
    model.compile("sparse_categorical_crossentropy", "adam")
    kinds = {step.layer.name: type(step) for step in model._training_plan().steps}
    assert kinds["conv1"] is ConvStep and kinds["dense1"] is DenseStep and kinds["bn1"] is BatchNormStep
    assert kinds["leaky_relu1"] is ActivationStep and kinds["dropout"] is PlainStep
    plan = model._training_plan()
    # the first layer reads the model's input: its dL/dx is skipped; the others are needed
    assert [s.input_gradient_needed for s in plan.steps[:3]] == [False, True, True]
    # each LeakyReLU after a BatchNorm writes over the BatchNorm's output
    assert [s.layer.name for s in plan.steps if getattr(s, "may_overwrite_input", False)] == \
        [f"leaky_relu{i}" for i in range(1, 6)]


def test_a_hook_or_the_switch_runs_the_plain_layer(rng):
    model = zoo.cifar10_cnn(seed=0)
    model.compile("sparse_categorical_crossentropy", "adam")
    seen = []
    model.get_layer("bn2").register_forward_hook(lambda layer, x, out: seen.append(out.shape))
    kinds = {step.layer.name: type(step) for step in model._training_plan().steps}
    assert kinds["bn2"] is PlainStep and kinds["bn1"] is BatchNormStep
    model.train_on_batch(rng.random((2, 32, 32, 3), dtype=np.float32), np.array([1, 2]))
    assert seen == [(2, 16, 16, 32)]
    model.compile("sparse_categorical_crossentropy", "adam", jit_compile=False)
    assert not model._uses_plan()
    with minicnn.config.using(backend="reference"):
        model.compile("sparse_categorical_crossentropy", "adam")
        assert not model._uses_plan()     # every number from plain loops or NumPy
    with pytest.raises(minicnn.ConfigError, match="jit_compile"):
        model.compile("sparse_categorical_crossentropy", "adam", jit_compile="yes")


def test_trace_sees_the_plain_layers_pre_activations(rng):
    model = zoo.mnist_cnn(seed=0)
    model.compile("sparse_categorical_crossentropy", "adam")
    x = rng.random((2, 28, 28, 1), dtype=np.float32)
    model.train_on_batch(x, np.array([1, 2]))
    model.trace(x)
    conv = model.layers[0]
    assert conv.preactivation is not None      # always kept by the plain layer
    np.testing.assert_array_equal(model.layers[0].activation.forward(conv.preactivation),
                                  model.trace(x).outputs[conv.name])
