"""``minicnn.applications``: MobileNetV2's structure and the ImageNet helpers (no TensorFlow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minicnn
from minicnn.applications import MobileNetV2, decode_predictions, preprocess_input
from minicnn.errors import ConfigError, InputError, ModelFileError


def test_mobilenet_v2_structure_matches_keras_published_figures():
    """Keras documents MobileNetV2 (alpha 1.0, 224, with top) as 3,538,984 parameters;
    its model has 156 layers, 10 residual Adds and 4 explicit paddings."""
    model = MobileNetV2()
    assert model.count_params() == 3_538_984
    assert len(model.layers) == 156
    assert model.name == "mobilenetv2_1.00_224"
    kinds = [type(l).__name__ for l in model.layers]
    assert kinds.count("Add") == 10 and kinds.count("ZeroPadding2D") == 4
    assert kinds.count("DepthwiseConv2D") == 17
    assert model.get_layer("block_1_expand_relu").output.shape == (None, 112, 112, 96)
    assert model.get_layer("block_6_expand_relu").output.shape == (None, 28, 28, 192)
    assert model.output_shape == (None, 1000)
    # Before a stride-2 depthwise conv: an even map (14x14) pads 0 on top, 1 below ...
    assert model.get_layer("block_13_pad").padding == ((0, 1), (0, 1))
    small = MobileNetV2(input_shape=(40, 40, 3), alpha=0.35, include_top=False)
    assert small.get_layer("block_6_pad").padding == ((1, 1), (1, 1))  # ... an odd one (5x5) 1 and 1
    assert small.output_shape == (None, 2, 2, 1280)


def test_mobilenet_v2_arguments_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="downloads nothing"):
        MobileNetV2(weights="imagenet")
    with pytest.raises(ConfigError, match="H, W >= 32"):
        MobileNetV2(input_shape=(16, 16, 3))
    with pytest.raises(ConfigError, match="pooling"):
        MobileNetV2(include_top=False, pooling="min")
    with pytest.raises(ModelFileError, match="no such file"):
        MobileNetV2(weights=tmp_path / "missing.h5")


@pytest.mark.parametrize("pooling,layer", [("avg", "global_average_pooling2d"), ("max", "global_max_pooling2d")])
def test_mobilenet_v2_pooling(pooling, layer):
    model = MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False, pooling=pooling, seed=0)
    assert model.output_shape == (None, 1280)
    assert model.layers[-1].name.startswith(layer)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    features = model.get_layer("out_relu").forward(model.forward_to(x, model.get_layer("Conv_1_bn"))["Conv_1_bn"])
    reduce = np.mean if pooling == "avg" else np.max
    np.testing.assert_allclose(model.predict(x, verbose=0), reduce(features, axis=(1, 2)), rtol=1e-5, atol=1e-6)


def test_mobilenet_v2_runs_and_trains_a_step():
    model = MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, classes=3, seed=0)
    model.compile("sparse_categorical_crossentropy", "adam")
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    before = model.get_weights()
    loss = model.train_on_batch(x, np.array([0, 1, 2, 0]))
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    again = MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, classes=3, seed=0)
    for a, b in zip(before, again.get_weights()):   # seed= makes the initial weights repeatable
        np.testing.assert_array_equal(a, b)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_preprocess_input_maps_0_255_to_minus1_1():
    x = np.array([[0, 127.5, 255]], dtype=np.float64)
    np.testing.assert_allclose(preprocess_input(x), [[-1.0, 0.0, 1.0]])
    assert preprocess_input(np.zeros((2, 2), np.uint8)).dtype == np.float32
    with pytest.raises(InputError):
        preprocess_input(np.array(["a"]))


def test_decode_predictions(tmp_path):
    index = {str(i): [f"n{i:08d}", f"class{i}"] for i in range(5)}
    path = tmp_path / "imagenet_class_index.json"
    path.write_text(json.dumps(index))
    preds = np.array([[0.1, 0.5, 0.05, 0.3, 0.05], [0.9, 0.0, 0.05, 0.0, 0.05]])
    top = decode_predictions(preds, top=2, class_index=path)
    assert top[0] == [("n00000001", "class1", 0.5), ("n00000003", "class3", 0.3)]
    assert top[1][0] == ("n00000000", "class0", 0.9)
    with pytest.raises(InputError, match="class_index=PATH"):
        decode_predictions(preds)
    with pytest.raises(InputError, match=r"shape \(N, 5\)"):
        decode_predictions(preds[:, :3], class_index=path)
    path.write_text("[1, 2")
    with pytest.raises(ModelFileError, match="not a class-index file"):
        decode_predictions(preds, class_index=path)


def test_mobilenet_feature_model_as_in_the_seed():
    """The seed lab's feature-extraction model, with Keras's real layer names."""
    base = MobileNetV2(input_shape=(64, 64, 3), alpha=0.35)
    names = ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu"]
    features = minicnn.Model(base.input, [base.get_layer(n).output for n in names])
    maps = features.predict(np.zeros((1, 64, 64, 3), np.float32), verbose=0)
    assert [m.shape for m in maps] == [(1, 32, 32, 48), (1, 16, 16, 48), (1, 8, 8, 96)]
