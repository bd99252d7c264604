"""Schedules, weight decay, clipping, regularizers, sample and class weights, metrics and
learning-rate callbacks inside minicnn: what the TensorFlow tiers cannot see (saving, errors,
the fast plan, the logs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minicnn
from minicnn import callbacks, layers as L, metrics, optimizers, regularizers, schedules
from minicnn.errors import ConfigError, InputError
from minicnn.layers.base import Parameter

from .gradcheck import numeric_gradient, relative_error


def _model(seed=0, **dense):
    return minicnn.Sequential([L.Conv2D(3, 3, input_shape=(6, 6, 2), activation="relu",
                                        kernel_regularizer=regularizers.L2(0.01)),
                               L.Flatten(), L.Dense(4, activation="softmax", **dense)], seed=seed)


def _data(n=32):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 6, 6, 2)).astype(np.float32), rng.integers(0, 4, n)


def test_schedules_follow_their_formulas():
    cosine = schedules.CosineDecay(0.1, decay_steps=10, alpha=0.2)
    assert cosine(0) == pytest.approx(0.1) and cosine(10) == pytest.approx(0.02) and cosine(50) == pytest.approx(0.02)
    assert cosine(5) == pytest.approx(0.1 * (0.8 * 0.5 + 0.2))
    warm = schedules.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=4)
    assert [warm(s) for s in (0, 2, 4)] == pytest.approx([0.0, 0.05, 0.1])
    staircase = schedules.ExponentialDecay(1.0, 10, 0.5, staircase=True)
    assert [staircase(s) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    piecewise = schedules.PiecewiseConstantDecay([10, 20], [3.0, 2.0, 1.0])
    assert [piecewise(s) for s in (10, 11, 20, 21)] == [3.0, 2.0, 2.0, 1.0]
    with pytest.raises(ConfigError, match="one longer"):
        schedules.PiecewiseConstantDecay([10], [1.0])


def test_a_schedule_or_a_callable_sets_each_steps_rate():
    p = Parameter("w", np.zeros(1))
    opt = optimizers.SGD(schedules.PiecewiseConstantDecay([1], [1.0, 0.1]))
    steps = []
    for _ in range(3):
        p.grad = np.ones(1)
        steps.append(float(p.value[0]))
        opt.apply([p])
    assert np.diff(steps + [float(p.value[0])]).tolist() == pytest.approx([-1.0, -1.0, -0.1])
    with pytest.raises(ConfigError, match="cannot be set"):
        opt.learning_rate = 0.5
    calls = iter([0.5, 0.25])
    opt = optimizers.SGD(lambda: next(calls))
    p.value[...] = 0
    for _ in range(2):
        p.grad = np.ones(1)
        opt.apply([p])
    assert p.value[0] == pytest.approx(-0.75)


def test_weight_decay_and_clipping_by_hand():
    p = Parameter("w", np.array([2.0, -4.0]))
    p.grad = np.array([3.0, 4.0])               # norm 5
    optimizers.SGD(0.1, weight_decay=0.5, clipnorm=1.0).apply([p])
    # decay: w - 0.1 * 0.5 * w = 0.95 w; clipped gradient (0.6, 0.8)
    np.testing.assert_allclose(p.value, [1.9 - 0.06, -3.8 - 0.08])
    q = Parameter("w", np.zeros(2))
    q.grad = np.array([3.0, -0.05])
    optimizers.SGD(1.0, clipvalue=0.1).apply([q])
    np.testing.assert_allclose(q.value, [-0.1, 0.05])
    with pytest.raises(ConfigError, match="only one of clipnorm and global_clipnorm"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    assert optimizers.get("adamw").weight_decay == 0.004


@pytest.mark.parametrize("regularizer", [regularizers.L1(0.3), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.4)])
def test_regularizer_gradients_match_finite_differences(regularizer):
    w = np.random.default_rng(0).standard_normal((3, 4))
    numeric = numeric_gradient(lambda: regularizer(w), w)
    assert relative_error(regularizer.gradient(w), numeric) < 1e-6
    assert regularizers.get(regularizer.get_config()).get_config() == regularizer.get_config()


def test_the_reported_loss_includes_the_penalties_as_keras():
    x, y = _data()
    model = _model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    plain = minicnn.losses.get("sparse_categorical_crossentropy").value(y, model.predict(x, verbose=0))
    penalty = 0.01 * float((model.layers[0].kernel.value.astype(np.float64) ** 2).sum())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(plain + penalty, rel=1e-5)


@pytest.mark.parametrize("optimizer", [lambda: optimizers.AdamW(schedules.CosineDecay(0.01, 20), clipnorm=0.5),
                                       lambda: optimizers.SGD(0.05, momentum=0.9, weight_decay=0.01,
                                                              global_clipnorm=1.0)])
def test_the_plan_and_the_plain_layers_agree_with_every_extra(optimizer):
    x, y = _data()
    weights = []
    for jit in (True, False):
        model = _model(bias_regularizer="l1")
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer(), jit_compile=jit,
                      metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.0})
        weights.append((model.get_weights(), history.history))
    for a, b in zip(weights[0][0], weights[1][0]):
        np.testing.assert_array_equal(a, b)
    assert weights[0][1] == weights[1][1]
    assert set(weights[0][1]) == {"loss", "accuracy", "sparse_top_k_categorical_accuracy"}


def test_schedules_regularizers_and_metrics_survive_a_model_file(tmp_path):
    x, y = _data()
    model = _model(bias_regularizer=regularizers.L1L2(0.01, 0.02))
    model.compile(loss="categorical_crossentropy", metrics=["accuracy", metrics.TopKCategoricalAccuracy(k=2), "recall"],
                  optimizer=optimizers.AdamW(schedules.CosineDecay(0.0, 30, warmup_target=0.01, warmup_steps=5),
                                             weight_decay=0.02, clipvalue=0.5))
    onehot = np.eye(4, dtype=np.float32)[y]
    model.fit(x, onehot, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.minicnn")
    loaded = minicnn.load_model(tmp_path / "m.minicnn")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert [m.get_config() for m in loaded.metrics] == ["accuracy", {"class_name": "TopKCategoricalAccuracy",
                                                                     "k": 2, "name": "top_k_categorical_accuracy"},
                                                       "recall"]
    assert loaded.layers[-1].get_config()["bias_regularizer"] == {"class_name": "L1L2", "l1": 0.01, "l2": 0.02}
    model.fit(x, onehot, epochs=2, initial_epoch=1, batch_size=8, verbose=0)
    loaded.fit(x, onehot, epochs=2, initial_epoch=1, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.evaluate(x, onehot, verbose=0) == loaded.evaluate(x, onehot, verbose=0)


def test_sample_weights_scale_each_samples_loss_and_nothing_else():
    x, y = _data(8)
    model = _model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    unweighted, accuracy = model.evaluate(x, y, verbose=0)
    doubled, same_accuracy = model.evaluate(x, y, verbose=0, sample_weight=np.full(8, 2.0))
    penalty = minicnn.regularizers.penalty(model.weights)
    assert doubled - penalty == pytest.approx(2 * (unweighted - penalty), rel=1e-6)
    assert same_accuracy == accuracy        # metrics are not weighted (as Keras's "metrics")
    with pytest.raises(InputError, match="one per sample"):
        model.fit(x, y, sample_weight=np.ones(7), verbose=0)
    with pytest.raises(InputError, match="not both"):
        model.fit(x, y, sample_weight=np.ones(8), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(InputError, match=r"no weight for class\(es\)"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)
    with pytest.raises(InputError, match="non-negative"):
        model.fit(x, y, class_weight={0: -1.0, 1: 1, 2: 1, 3: 1}, verbose=0)


def test_metric_names_and_errors():
    model = _model()
    with pytest.raises(ConfigError, match="unknown metric 'f1'"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=["f1"])
    with pytest.raises(ConfigError, match="use 'sparse_top_k_categorical_accuracy'"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=["top_k_categorical_accuracy"])
    with pytest.raises(ConfigError, match="one-hot or binary label"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=["precision"])
    model.compile(loss="categorical_crossentropy", metrics=["acc", "precision", "recall"])
    assert model.metrics_names == ["loss", "accuracy", "precision", "recall"]


def test_learning_rate_callbacks_log_the_rate_and_reduce_it():
    x, y = _data()
    model = _model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.SGD(0.1))
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=math.inf)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[reduce])
    # min_delta = inf: no epoch counts as an improvement (not even the first, as in Keras),
    # so with patience 1 the rate halves after every epoch
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)
    schedule = callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[schedule])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05])
    with pytest.raises(ConfigError, match="positive number"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "fast")])
    with pytest.raises(ConfigError, match=r"factor must be in \(0, 1\)"):
        callbacks.ReduceLROnPlateau(factor=1.5)
