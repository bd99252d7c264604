"""NaN/Inf in training: fit stops before the update and names the first culprit."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import callbacks, layers
from minicnn.errors import NonFiniteError


def _model(scales):
    """Dense layers without activations whose kernels are ``scale`` times a
    random sign pattern: the scales choose where float32 overflows."""
    model = minicnn.Sequential([layers.Input((4,))] + [
        layers.Dense(4, name=f"d{i}") for i in range(1, len(scales))] + [
        layers.Dense(3, activation="softmax", name=f"d{len(scales)}")], seed=0)
    signs = np.random.default_rng(1)
    for layer, scale in zip(model.layers, scales):
        kernel, bias = layer.get_weights()
        layer.set_weights([(scale * signs.choice([-1.0, 1.0], kernel.shape)).astype(kernel.dtype), bias])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model


X = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
Y = np.arange(8) % 3


def test_forward_overflow_is_reported_at_its_layer():
    model = _model([1e30, 1e30, 1.0])  # d1 ~ 1e30, d2 ~ 1e60 = inf in float32
    before = model.get_weights()
    with pytest.raises(NonFiniteError) as info:
        model.fit(X, Y, epochs=1, verbose=0)
    message = str(info.value)
    assert "epoch 1, batch 1" in message
    assert "forward pass: the output of layer 'd2' (Dense)" in message
    assert "its input and weights were finite" in message
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the failing step was not applied
    assert np.isfinite(info.value.trace.outputs["d1"]).all()
    assert not np.isfinite(info.value.trace.outputs["d2"]).all()


def test_backward_overflow_is_reported_at_its_layer():
    # Forward: d1 ~ 1e-20, d2 ~ 1, d3 ~ 1e20: all finite, and so is the loss.
    # Backward: dL/d(d2) ~ 1e20, then d2's backward multiplies by 1e20 -> inf.
    model = _model([1e-20, 1e20, 1e20])
    with pytest.raises(NonFiniteError) as info:
        model.train_on_batch(X, Y)
    message = str(info.value)
    assert "backward pass" in message
    assert "dL/d(input of 'd2'), computed by layer 'd2' (Dense)" in message
    trace = info.value.trace
    assert all(np.isfinite(out).all() for out in trace.outputs.values())
    assert np.isfinite(trace.grads["d2"]).all() and not np.isfinite(trace.grads["d1"]).all()


def test_non_finite_weights_are_named():
    model = _model([1.0, 1.0])
    kernel, bias = model.layers[1].get_weights()
    kernel[0, 0] = np.nan
    model.layers[1].set_weights([kernel, bias])
    with pytest.raises(NonFiniteError, match=r"layer 'd2'.*weights \['kernel'\] already hold"):
        model.fit(X, Y, verbose=0)


def test_terminate_on_nan_stops_without_an_exception():
    model = _model([1.0, 1.0])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.SGD(1e30))
    stop = callbacks.TerminateOnNaN()
    history = model.fit(X, Y, epochs=5, batch_size=2, verbose=0, callbacks=[stop])
    assert isinstance(stop.error, NonFiniteError) and stop.error.trace is not None
    assert model.stop_training
    assert len(history.history.get("loss", [])) < 5
    assert all(np.isfinite(w).all() for w in model.get_weights())  # the last finite step's weights


def test_errors_are_catchable_as_floating_point_errors():
    model = _model([1e30, 1e30, 1.0])
    with pytest.raises(FloatingPointError):
        model.fit(X, Y, verbose=0)
