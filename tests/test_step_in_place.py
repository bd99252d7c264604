"""A training step lets ReLU/LeakyReLU write over the BatchNormalization output
before it (Sequential._step_forward): same results to the bit, nothing visible lost."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import layers
from minicnn.errors import NonFiniteError


def _model(activation: str, seed: int = 0) -> minicnn.Sequential:
    act = {"leaky": lambda name: layers.LeakyReLU(name=name),
           "relu": lambda name: layers.ReLU(name=name),
           "relu6": lambda name: layers.ReLU(max_value=6.0, name=name)}[activation]
    model = minicnn.Sequential([
        layers.Input((6, 6, 2)),
        layers.Conv2D(4, 3, padding="same", name="conv"),
        layers.BatchNormalization(name="bn1"),
        act("act1"),
        layers.Flatten(name="flatten"),
        layers.Dense(8, name="dense"),
        layers.BatchNormalization(name="bn2"),
        act("act2"),
        layers.Dense(3, activation="softmax", name="out"),
    ], seed=seed)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam(1e-2))
    return model


def _data(rng):
    return rng.standard_normal((5, 6, 6, 2)).astype(np.float32), rng.integers(0, 3, 5)


def _no_op_hook(layer, x, y):
    return None


@pytest.mark.parametrize("activation", ["leaky", "relu"])
def test_in_place_step_gives_the_same_bits_as_the_plain_one(activation, rng):
    x, y = _data(rng)
    fast, plain = _model(activation), _model(activation)
    for name in ("act1", "act2"):   # a hook turns the in-place path off for its layer
        plain.get_layer(name).register_forward_hook(_no_op_hook)
    assert fast._in_place_activations() == frozenset({2, 6})
    assert plain._in_place_activations() == frozenset()
    for _ in range(3):
        loss_fast, loss_plain = fast.train_on_batch(x, y), plain.train_on_batch(x, y)
        assert loss_fast == loss_plain
    for a, b in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_backward_over_writes_dx_over_its_gradient(rng, monkeypatch):
    x, y = _data(rng)
    model = _model("leaky")
    seen = []
    bn1 = model.get_layer("bn1")
    original = bn1.backward_over

    def spy(dy):
        dx = original(dy)
        seen.append(np.shares_memory(dx, dy))
        return dx
    monkeypatch.setattr(bn1, "backward_over", spy)
    model.train_on_batch(x, y)
    assert seen == [True]


def test_the_activation_really_wrote_over_the_batchnorm_output(rng):
    x, _ = _data(rng)
    model = _model("leaky")
    outputs = model._step_forward(x)
    assert outputs[1] is None and outputs[5] is None          # bn1, bn2: written over
    assert outputs[2] is not None and model.get_layer("act1").preactivation is None
    # what the step dropped is rebuilt from the BatchNormalization's saved state
    bn1 = model.get_layer("bn1")
    z = model.get_layer("conv").forward(x, training=False)
    plain = bn1.forward(z, training=True)
    np.testing.assert_array_equal(bn1.rebuild_output(), plain)
    np.testing.assert_array_equal(outputs[2], np.where(plain > 0, plain, np.float32(0.3) * plain))


def test_relu6_and_hooked_layers_and_forward_keep_every_output(rng):
    x, _ = _data(rng)
    assert _model("relu6")._in_place_activations() == frozenset()   # no in-place kernel for the cap
    model = _model("leaky")
    seen = {}
    model.get_layer("bn1").register_forward_hook(lambda layer, i, o: seen.setdefault("bn1", o))
    assert model._in_place_activations() == frozenset({6})
    outputs = model.forward(x, training=True)                         # the public pass: all kept
    assert all(out is not None for out in outputs)
    assert not np.shares_memory(outputs[1], outputs[2])


def test_a_gradient_shared_with_the_loss_is_not_overwritten(rng):
    """An activation whose incoming gradient is the loss's own array must not write over it."""
    model = minicnn.Sequential([layers.Input((4,)), layers.Dense(3, name="d"),
                                layers.BatchNormalization(name="bn"), layers.LeakyReLU(name="act"),
                                layers.Activation("linear", name="last")], seed=0)
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    x = rng.standard_normal((6, 4)).astype(np.float32)
    outputs = model._step_forward(x)
    dy_pred = np.ones_like(outputs[-1])
    kept = dy_pred.copy()
    model._step_backward(dy_pred, None)   # "last" hands dy_pred itself on to "act"
    np.testing.assert_array_equal(dy_pred, kept)


def test_non_finite_batchnorm_output_is_still_named(rng):
    x, y = _data(rng)
    model = _model("leaky")
    gamma, beta, mean, var = model.get_layer("bn2").get_weights()
    gamma[0] = np.inf
    model.get_layer("bn2").set_weights([gamma, beta, mean, var])
    with pytest.raises(NonFiniteError) as info:
        model.train_on_batch(x, y)
    assert "the output of layer 'bn2' (BatchNormalization)" in str(info.value)
    trace = info.value.trace
    assert np.isfinite(trace.outputs["bn1"]).all() and not np.isfinite(trace.outputs["bn2"]).all()
    assert not np.shares_memory(trace.outputs["bn2"], trace.outputs["act2"])


def _cnn(seed: int = 0) -> minicnn.Sequential:
    model = minicnn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 2, padding="same", activation="relu", name="c1"),
        layers.MaxPooling2D(name="pool"),
        layers.Conv2D(6, 2, padding="same", activation="leaky_relu", name="c2"),
        layers.Flatten(name="flatten"),
        layers.Dense(5, activation="relu", name="d1"),
        layers.Dropout(0.3, seed=1, name="drop"),
        layers.Dense(3, activation="softmax", name="out"),
    ], seed=seed)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam(1e-2))
    return model


def test_backward_over_writes_dz_over_the_gradient_and_changes_no_bit(rng, monkeypatch):
    x = rng.standard_normal((6, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, 6)
    fast, plain = _cnn(), _cnn()
    plain._step_backward = lambda dy_pred, dlogits: plain.backward(dy_pred, dlogits, input_grad=False)
    written_over = []
    for name in ("c1", "c2", "d1"):
        fn = fast.get_layer(name).activation
        original = fn.backward_with_bias_grad_over

        def spy(dy, original=original, name=name):
            dz, dbias = original(dy)
            written_over.append((name, np.shares_memory(dz, dy)))
            return dz, dbias
        monkeypatch.setattr(fn, "backward_with_bias_grad_over", spy)
    for _ in range(3):
        assert fast.train_on_batch(x, y) == plain.train_on_batch(x, y)
    for a, b in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert written_over and all(shared for _, shared in written_over)
    assert {name for name, _ in written_over} == {"c1", "c2", "d1"}
