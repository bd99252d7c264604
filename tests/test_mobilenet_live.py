"""MobileNetV2 at full size against ``keras.applications.MobileNetV2``, through weight files.

Keras builds the model with random weights (BatchNorm statistics moved away
from 0 and 1 so that they matter), saves them, and minicnn's MobileNetV2
loads the file: every one of the 155 layer outputs and the input gradient of
the top logit must agree. The fixture tier (``test_tf_fixtures.py``, case
``mobilenet_v2``) checks the same at 40x40 without TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from minicnn.applications import MobileNetV2  # noqa: E402
from minicnn.viz import probe  # noqa: E402
from tests.tf_reference.compare import MODEL_TOL, assert_close  # noqa: E402

pytestmark = pytest.mark.tf_live


def _keras_model(**kwargs):
    keras.utils.clear_session()
    model = keras.applications.MobileNetV2(weights=None, **kwargs)
    rng = np.random.default_rng(0)
    values = []
    for v in model.weights:
        w = v.numpy()
        if "moving_variance" in v.path or "gamma" in v.path:
            w = rng.uniform(0.5, 1.5, w.shape)
        elif "moving_mean" in v.path or "beta" in v.path:
            w = rng.normal(0.0, 0.1, w.shape)
        values.append(w.astype(np.float32))
    model.set_weights(values)
    return model


@pytest.mark.parametrize("kind", ["weights.h5", "legacy.h5"])
def test_mobilenet_v2_224_matches_keras_layer_by_layer(tmp_path, kind):
    km = _keras_model(classifier_activation=None)
    path = tmp_path / f"m.{kind}"
    if kind == "weights.h5":
        km.save_weights(path)                  # Keras 3: matched by class and order
    else:
        km.save(tmp_path / "m.h5")             # legacy HDF5: matched by layer name
        path = tmp_path / "m.h5"
    ours = MobileNetV2(weights=path, classifier_activation=None)
    assert [l.name for l in ours.layers] == [l.name for l in km.layers]
    assert ours.count_params() == km.count_params()

    x = np.random.default_rng(1).uniform(-1, 1, (2, 224, 224, 3)).astype(np.float32)
    names = [l.name for l in km.layers[1:]]
    theirs = keras.Model(km.input, [km.get_layer(n).output for n in names])(x, training=False)
    trace = ours.trace(x)
    for name, value in zip(names, theirs):
        assert_close(trace.outputs[name], value.numpy(), f"MobileNetV2 {name}", MODEL_TOL)

    # d(top logit)/d(input), one backward pass for both images.
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        top = tf.reduce_sum(tf.reduce_max(km(xv, training=False), axis=1))
    _, dx = probe.score_gradient(ours, x, None)
    assert_close(dx, tape.gradient(top, xv).numpy(), "MobileNetV2 input gradient", MODEL_TOL)
