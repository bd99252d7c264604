"""Losses: values, finite-difference gradients (float64), saturated inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn import losses
from minicnn.activations import sigmoid, softmax
from minicnn.errors import ConfigError, ShapeError
from tests.gradcheck import assert_gradients_ok, numeric_gradient, relative_error


def targets(kind: str, n: int, k: int, rng) -> np.ndarray:
    labels = rng.integers(0, k, n)
    if kind == "sparse":
        return labels
    if kind == "categorical":
        return np.eye(k)[labels]
    return rng.integers(0, 2, (n, k)).astype(np.float64)


LOSSES = {"sparse": losses.SparseCategoricalCrossentropy, "categorical": losses.CategoricalCrossentropy,
          "binary": losses.BinaryCrossentropy}


@pytest.mark.parametrize("kind", list(LOSSES))
@pytest.mark.parametrize("from_logits", [False, True])
@given(n=st.integers(1, 5), k=st.integers(2, 6), seed=st.integers(0, 999))
def test_loss_gradient_matches_finite_differences(kind, from_logits, n, k, seed):
    rng = np.random.default_rng(seed)
    loss = LOSSES[kind](from_logits=from_logits)
    t = targets(kind, n, k, rng)
    z = rng.standard_normal((n, k)) * 2
    pred = z if from_logits else (sigmoid(z) if kind == "binary" else softmax(z))
    numeric = numeric_gradient(lambda: loss.value(t, pred), pred)
    assert_gradients_ok({"y_pred": relative_error(loss.gradient(t, pred), numeric)})


@pytest.mark.parametrize("kind", ["sparse", "categorical"])
def test_probability_form_without_clipping_equals_logit_form(kind, rng):
    t = targets(kind, 4, 5, rng)
    z = rng.standard_normal((4, 5))
    a = LOSSES[kind](from_logits=True).value(t, z)
    b = LOSSES[kind]().value(t, softmax(z))
    assert a == pytest.approx(b, rel=1e-12)


def test_keras_documented_values():
    # keras.backend.categorical_crossentropy's documented example.
    t = np.eye(3, dtype=np.float32)
    p = np.array([[.9, .05, .05], [.05, .89, .06], [.05, .01, .94]], np.float32)
    per_sample = [losses.CategoricalCrossentropy().value(t[i:i + 1], p[i:i + 1]) for i in range(3)]
    np.testing.assert_allclose(per_sample, [0.10536, 0.11653, 0.06188], atol=1e-5)


@pytest.mark.parametrize("kind", list(LOSSES))
def test_saturated_probabilities_stay_finite(kind):
    k = 3
    y = np.array([0, 1]) if kind == "sparse" else np.array([[1., 0, 0], [0, 1, 0]])
    p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # exactly right, exactly wrong
    loss = LOSSES[kind]()
    value, grad = loss.value(y, p), loss.gradient(y, p)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    # The exactly-wrong sample costs -log(1e-7) (per class for binary), no more.
    assert value <= -np.log(1e-7) * k


@pytest.mark.parametrize("kind", list(LOSSES))
def test_saturated_logits_stay_finite_and_exact(kind):
    y = np.array([0, 1]) if kind == "sparse" else np.array([[1., 0], [0, 1]])
    z = np.array([[100.0, -100.0], [100.0, -100.0]])
    loss = LOSSES[kind](from_logits=True)
    value, grad = loss.value(y, z), loss.gradient(y, z)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    # Sample 1 is right (loss ~0). Sample 2 is wrong by a logit gap of 200 for the
    # softmax losses (200 / 2 samples = 100); for binary each of its two outputs
    # costs 100, averaged over outputs (100) and then samples (50).
    expected = {"sparse": 100.0, "categorical": 100.0, "binary": 50.0}[kind]
    assert value == pytest.approx(expected, rel=1e-9)


def test_clipped_entries_get_zero_gradient():
    loss = losses.BinaryCrossentropy()
    g = loss.gradient(np.array([[1.0, 0.0]]), np.array([[1.0, 0.5]]))
    assert g[0, 0] == 0.0 and g[0, 1] != 0.0


def test_string_names_and_errors():
    assert isinstance(losses.get("sparse_categorical_crossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossentropy)
    with pytest.raises(ConfigError, match="unknown loss 'mse_typo'"):
        losses.get("mse_typo")
    with pytest.raises(ShapeError, match="label 7 is out of range for 3 classes"):
        losses.get("sparse_categorical_crossentropy").value(np.array([0, 7]), np.full((2, 3), 1 / 3))
    with pytest.raises(ShapeError, match="same"):
        losses.BinaryCrossentropy().value(np.zeros((2, 3)), np.zeros((2, 4)))
