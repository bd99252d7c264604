"""minicnn's answers to the cases of ``cases.py`` (the Keras side computes the same)."""

from __future__ import annotations

import numpy as np

import minicnn
from minicnn import layers as L
from minicnn import applications, losses, optimizers, regularizers, schedules, zoo
from minicnn.layers.base import Parameter

from . import cases, graphs


def make_layer(case: dict):
    layer = getattr(L, case["layer"])(**case["config"])
    layer.build(tuple(case["shape"][1:]))
    return layer


def layer_specs(case: dict) -> tuple[list[tuple[str, tuple[int, ...]]], tuple[int, ...]]:
    """(weight names and shapes, output shape) - what the data generator needs."""
    layer = make_layer(case)
    return [(p.name, p.value.shape) for p in layer.weights], (case["shape"][0],) + layer.output_shape


def run_layer(case: dict, data: dict) -> dict[str, np.ndarray]:
    """Forward output, dx, each trainable weight's gradient, BN statistics after."""
    layer = make_layer(case)
    if case["layer"] == "Normalization":
        layer.adapt(data["adapt"])
    else:
        layer.set_weights(data["weights"])
    y = layer.apply(data["x"], training=case["training"])
    out = {"y": y, "dx": layer.backward(data["g"])}
    for p in layer.trainable_weights:
        out["d_" + p.name] = p.grad
    if case["layer"] == "BatchNormalization":
        out["moving_mean"] = layer.moving_mean.value.copy()
        out["moving_variance"] = layer.moving_variance.value.copy()
    return out


def run_loss(case: dict, data: dict) -> dict[str, np.ndarray]:
    loss = losses.get(case["loss"])
    loss.from_logits = case["from_logits"]
    weights = data.get("sample_weight")
    return {"value": np.array(loss.value(data["y_true"], data["y_pred"], weights)),
            "grad": loss.gradient(data["y_true"], data["y_pred"], weights)}


def run_optimizer(case: dict, data: dict) -> dict[str, np.ndarray]:
    opt = getattr(optimizers, case["optimizer"])(**cases.optimizer_config(case, schedules))
    params = [Parameter(f"w{i}", w.copy()) for i, w in enumerate(data["w0"])]
    for step in data["grads"]:
        for p, g in zip(params, step):
            p.grad = g
        opt.apply(params)
    return {f"w{i}": p.value for i, p in enumerate(params)}


def make_model(case: dict) -> minicnn.Sequential:
    minicnn.clear_session()
    if case["name"] == "functional_graph":
        return graphs.functional_graph(L, L.Input, minicnn.Model, case["input_shape"])
    if case["name"] == "regularized_cnn":
        return graphs.regularized_cnn(L, regularizers, L.Input, minicnn.Model, case["input_shape"])
    if case["name"] == "mobilenet_v2":
        return applications.MobileNetV2(input_shape=case["input_shape"], **graphs.MOBILENET)
    build = getattr(zoo, case["name"])
    model = build(seed=0) if case["name"] == "mnist_mlp" else build(seed=0, dropout=0.0)
    return model


def model_specs(case: dict) -> list[tuple[str, tuple[int, ...]]]:
    return [(p.name, p.value.shape) for p in make_model(case).weights]


def run_model(case: dict, data: dict, weights: list[np.ndarray]) -> dict[str, np.ndarray]:
    """(a) every layer's output, (b) predict, (c) 5 training steps, (d) input gradient."""
    model = make_model(case)
    model.set_weights(weights)
    model.compile(loss=case["loss"],
                  optimizer=getattr(optimizers, case["optimizer"])(**case["optimizer_config"]))
    x, y, b = data["x"], data["y"], cases.BATCH
    probe = x[:b]
    out = {}
    trace = model.trace(probe)
    computing = [layer for layer in model.layers if not isinstance(layer, L.InputLayer)]
    for layer in computing:
        out["act_" + layer.name] = trace.outputs[layer.name]
    out["predict"] = model.predict(probe, verbose=0)
    # (d) d(top class score)/d(input): upstream gradient 1 at each sample's top class.
    scores = model.forward(probe)[-1]
    out["input_grad"] = model.backward(np.eye(scores.shape[1], dtype=scores.dtype)[scores.argmax(1)])
    losses_seen = []
    steps = case.get("steps", cases.STEPS)
    for step in range(steps):
        sl = slice(b * (step + 1), b * (step + 2))
        losses_seen.append(model.train_on_batch(x[sl], y[sl], class_weight=case.get("class_weight")))
    out["train_losses"] = np.array(losses_seen)
    for layer in computing if steps else []:  # untrained weights: nothing to compare
        for p in layer.weights:
            out[f"w_{layer.name}_{p.name}"] = p.value.copy()
    return out
