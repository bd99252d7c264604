"""Freezing: ``layer.trainable = False`` after build stops its updates and shows in summary at once."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import layers, zoo


@pytest.mark.parametrize("jit", [True, False])
def test_a_layer_frozen_after_build_keeps_its_weights_through_fit(jit, rng):
    model = zoo.cifar10_cnn(seed=0)
    conv1, bn1 = model.get_layer("conv1"), model.get_layer("bn1")
    conv1.trainable = False
    bn1.trainable = False
    frozen = [w.copy() for w in conv1.get_weights() + bn1.get_weights()]
    other = model.get_layer("conv2").kernel.value.copy()
    model.compile("sparse_categorical_crossentropy", "adam", jit_compile=jit)
    x, y = rng.random((16, 32, 32, 3), dtype=np.float32), np.arange(16) % 10
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(conv1.get_weights() + bn1.get_weights(), frozen):
        np.testing.assert_array_equal(a, b)          # moving statistics too: a frozen BN runs in inference mode
    assert not np.array_equal(model.get_layer("conv2").kernel.value, other)


def test_summary_counts_a_frozen_layer_at_once(capsys):
    model = zoo.cifar10_cnn(seed=0)
    model.summary()
    before = capsys.readouterr().out
    assert "Non-trainable params: 640" in before
    model.get_layer("dense1").trainable = False
    model.summary()
    after = capsys.readouterr().out
    assert f"Non-trainable params: {640 + 4096 * 128 + 128:,}" in after
    model.get_layer("dense1").trainable = True
    assert model.get_layer("bn1").moving_mean.trainable is False   # never learns, whatever the flag says
    model.trainable = False
    assert model.trainable_weights == [] and not model.trainable
    model.trainable = True
    assert len(model.trainable_weights) == 22


def test_a_frozen_mobilenet_v2_keeps_every_weight_and_statistic(rng):
    """MobileNetV2 frozen as a feature extractor: fit leaves all of it as it was (its 52
    BatchNormalizations run in inference mode), and a new head learns from its features."""
    from minicnn.applications import MobileNetV2
    base = MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=3)
    base.trainable = False
    before = [w.copy() for w in base.get_weights()]
    x, y = rng.uniform(-1, 1, (6, 32, 32, 3)).astype(np.float32), np.arange(6) % 3
    base.compile("sparse_categorical_crossentropy", "adam")
    base.fit(x, y, epochs=1, batch_size=3, verbose=0)
    for a, b in zip(base.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    head = minicnn.Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax")], seed=0)
    head.compile("sparse_categorical_crossentropy", "adam")
    start = head.get_weights()[0].copy()
    head.fit(base.predict(x, verbose=0), y, epochs=2, verbose=0)
    assert not np.array_equal(head.get_weights()[0], start)


def test_a_frozen_functional_layer_keeps_its_weights(rng):
    inputs = layers.Input((6, 6, 2))
    a = layers.Conv2D(3, 3, padding="same", name="a")(inputs)
    b = layers.Conv2D(3, 3, padding="same", name="b")(a)
    out = layers.Dense(2, activation="softmax", name="out")(layers.GlobalAveragePooling2D()(layers.Add()([a, b])))
    model = minicnn.Model(inputs, out)
    model.get_layer("a").trainable = False
    kernel = model.get_layer("a").kernel.value.copy()
    model.compile("sparse_categorical_crossentropy", "adam")
    model.fit(rng.random((8, 6, 6, 2), dtype=np.float32), np.arange(8) % 2, epochs=2, verbose=0)
    np.testing.assert_array_equal(model.get_layer("a").kernel.value, kernel)


def test_a_frozen_layer_stays_frozen_through_a_file(tmp_path):
    model = zoo.mnist_cnn(seed=0)
    model.layers[0].trainable = False
    loaded = minicnn.load_model(model.save(tmp_path / "m.minicnn"))
    assert loaded.layers[0].trainable is False and loaded.layers[0].trainable_weights == []
    assert len(loaded.trainable_weights) == len(model.trainable_weights)
