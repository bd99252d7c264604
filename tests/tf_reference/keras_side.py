"""Keras/TensorFlow's answers to the cases of ``cases.py``. Needs TensorFlow."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's reference kernels, not oneDNN's: see tests/conftest.py for the
# oneDNN convolution that returns zeros when the stride exceeds the input.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from . import cases, graphs  # noqa: E402

VERSIONS = {"tensorflow": tf.__version__, "keras": keras.__version__}


def run_layer(case: dict, data: dict) -> dict[str, np.ndarray]:
    layer = getattr(keras.layers, case["layer"])(**case["config"])
    x = tf.Variable(data["x"])
    layer.build(tuple(data["x"].shape))
    if case["layer"] == "Normalization":
        layer.adapt(data["adapt"])
    elif data["weights"]:
        layer.set_weights(data["weights"])
    with tf.GradientTape() as tape:
        y = layer(x, training=case["training"])
        total = tf.reduce_sum(y * data["g"])
    trainable = layer.trainable_weights
    grads = tape.gradient(total, [x] + trainable)
    out = {"y": y.numpy(), "dx": grads[0].numpy()}
    for w, g in zip(trainable, grads[1:]):
        out["d_" + w.name.split("/")[-1].split(":")[0]] = g.numpy()
    if case["layer"] == "BatchNormalization":
        out["moving_mean"] = layer.moving_mean.numpy()
        out["moving_variance"] = layer.moving_variance.numpy()
    return out


def run_loss(case: dict, data: dict) -> dict[str, np.ndarray]:
    cls = {"sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
           "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
           "binary_crossentropy": keras.losses.BinaryCrossentropy}[case["loss"]]
    loss = cls(from_logits=case["from_logits"])
    y_pred = tf.Variable(data["y_pred"])
    with tf.GradientTape() as tape:
        value = loss(data["y_true"], y_pred, sample_weight=data.get("sample_weight"))
    return {"value": value.numpy(), "grad": tape.gradient(value, y_pred).numpy()}


def run_optimizer(case: dict, data: dict) -> dict[str, np.ndarray]:
    opt = getattr(keras.optimizers, case["optimizer"])(**cases.optimizer_config(case, keras.optimizers.schedules))
    variables = [keras.Variable(w.copy()) for w in data["w0"]]
    for step in data["grads"]:
        opt.apply_gradients([(tf.constant(g), v) for g, v in zip(step, variables)])
    return {f"w{i}": v.numpy() for i, v in enumerate(variables)}


def make_model(case: dict) -> keras.Model:
    """The seed models as the seed notebooks build them (Dropout at 0 to compare)."""
    keras.utils.clear_session()
    L = keras.layers
    if case["name"] == "functional_graph":
        return graphs.functional_graph(L, keras.Input, keras.Model, case["input_shape"])
    if case["name"] == "regularized_cnn":
        return graphs.regularized_cnn(L, keras.regularizers, keras.Input, keras.Model, case["input_shape"])
    if case["name"] == "mobilenet_v2":
        return keras.applications.MobileNetV2(input_shape=case["input_shape"], weights=None,
                                              **graphs.MOBILENET)
    if case["name"] == "mnist_mlp":
        return keras.Sequential([
            keras.Input(case["input_shape"]), L.Flatten(), L.Dense(50, activation="relu"),
            L.Dense(100, activation="relu"), L.Dense(100, activation="relu"),
            L.Dense(100, activation="relu"), L.Dense(10), L.Softmax()])
    if case["name"] == "mnist_cnn":
        conv = lambda f: L.Conv2D(f, (2, 2), padding="same", activation="relu")  # noqa: E731
        return keras.Sequential([
            keras.Input(case["input_shape"]), conv(32), L.MaxPool2D((2, 2)), conv(64), conv(64),
            L.MaxPool2D(2), conv(128), conv(128), L.MaxPool2D(), L.Flatten(),
            L.Dense(128, activation="relu", kernel_initializer="he_normal"), L.Dropout(0.0),
            L.Dense(64, activation="relu", kernel_initializer="he_normal"), L.Dropout(0.0),
            L.Dense(10, activation="softmax")])
    inputs = L.Input(case["input_shape"], name="input")
    x = inputs
    for i, (filters, stride) in enumerate([(32, 1), (32, 2), (64, 1), (64, 2)], start=1):
        x = L.Conv2D(filters, 3, strides=stride, padding="same", name=f"conv{i}")(x)
        x = L.BatchNormalization(name=f"bn{i}")(x)
        x = L.LeakyReLU(name=f"leaky_relu{i}")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(128, name="dense1")(x)
    x = L.BatchNormalization(name="bn5")(x)
    x = L.LeakyReLU(name="leaky_relu5")(x)
    x = L.Dropout(0.0, name="dropout")(x)
    x = L.Dense(10, name="dense2")(x)
    outputs = L.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name="CNN_Classifier")


def run_model(case: dict, data: dict, weights: list[np.ndarray]) -> dict[str, np.ndarray]:
    model = make_model(case)
    model.set_weights(weights)
    model.compile(loss=case["loss"],
                  optimizer=getattr(keras.optimizers, case["optimizer"])(**case["optimizer_config"]),
                  jit_compile=False)
    x, y, b = data["x"], data["y"], cases.BATCH
    probe = x[:b]
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    activations = keras.Model(model.inputs, [layer.output for layer in layers])([probe], training=False)
    out = {"act_" + layer.name: a.numpy() for layer, a in zip(layers, activations)}
    out["predict"] = model.predict(probe, verbose=0)
    xv = tf.Variable(probe)
    with tf.GradientTape() as tape:
        top = tf.reduce_sum(tf.reduce_max(model(xv, training=False), axis=1))
    out["input_grad"] = tape.gradient(top, xv).numpy()
    losses_seen = []
    steps = case.get("steps", cases.STEPS)
    for step in range(steps):
        sl = slice(b * (step + 1), b * (step + 2))
        losses_seen.append(float(np.asarray(model.train_on_batch(x[sl], y[sl],
                                                                 class_weight=case.get("class_weight")))))
    out["train_losses"] = np.array(losses_seen)
    for layer in layers if steps else []:  # untrained weights: nothing to compare
        for w in layer.weights:
            out[f"w_{layer.name}_{w.name.split('/')[-1].split(':')[0]}"] = w.numpy()
    return out
