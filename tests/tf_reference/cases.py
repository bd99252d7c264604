"""The cases compared against TensorFlow/Keras, and their deterministic data.

No TensorFlow here: both the fixture tier (no TF needed) and the live tier
import this module. A case is a plain dict; its data (inputs, weights,
upstream gradients) is drawn from ``numpy.random.default_rng(case["seed"])``
so that both engines see the same numbers.

Large arrays (seed-model activations and weights) are stored in the fixtures
as a *digest*: 2048 entries at fixed positions plus the float64 sum and sum of
squares of the whole array - enough to catch any real disagreement while
keeping the fixtures under a few MB. The live tier compares whole arrays.
"""

from __future__ import annotations

import numpy as np

DIGEST_SAMPLES = 2048

# ---------------------------------------------------------------- single layers
LAYER_CASES = [
    # Conv2D: valid/same, strides 1-3, rectangular kernels, 1-64 channels, bias, activation
    dict(layer="Conv2D", config=dict(filters=4, kernel_size=3, padding="valid"), shape=(2, 7, 7, 3)),
    dict(layer="Conv2D", config=dict(filters=5, kernel_size=(2, 3), strides=(2, 1), padding="same"),
         shape=(2, 7, 6, 2)),
    dict(layer="Conv2D", config=dict(filters=3, kernel_size=3, strides=3, padding="same",
                                     activation="relu"), shape=(3, 8, 7, 1)),
    dict(layer="Conv2D", config=dict(filters=2, kernel_size=(3, 2), strides=2, padding="valid",
                                     use_bias=False, activation="tanh"), shape=(2, 9, 8, 4)),
    dict(layer="Conv2D", config=dict(filters=64, kernel_size=2, padding="same", activation="sigmoid"),
         shape=(2, 5, 5, 64)),
    dict(layer="Conv2D", config=dict(filters=8, kernel_size=4, strides=2, padding="same"),
         shape=(1, 6, 6, 3)),
    # Pooling: valid/same, odd sizes, overlapping strides
    dict(layer="MaxPooling2D", config=dict(pool_size=2), shape=(2, 7, 7, 3)),
    dict(layer="MaxPooling2D", config=dict(pool_size=3, strides=2, padding="same"), shape=(2, 7, 6, 2)),
    dict(layer="MaxPooling2D", config=dict(pool_size=(2, 3), strides=1, padding="valid"), shape=(1, 5, 6, 2)),
    dict(layer="AveragePooling2D", config=dict(pool_size=2), shape=(2, 7, 7, 3)),
    dict(layer="AveragePooling2D", config=dict(pool_size=3, strides=2, padding="same"), shape=(2, 7, 6, 2)),
    dict(layer="AveragePooling2D", config=dict(pool_size=(3, 2), strides=(1, 2), padding="same"),
         shape=(1, 5, 5, 1)),
    dict(layer="GlobalAveragePooling2D", config={}, shape=(3, 5, 4, 6)),
    dict(layer="Dense", config=dict(units=7), shape=(4, 5)),
    dict(layer="Dense", config=dict(units=3, activation="softmax", use_bias=False), shape=(4, 6)),
    dict(layer="Dense", config=dict(units=4, activation="leaky_relu"), shape=(3, 5)),
    dict(layer="Flatten", config={}, shape=(2, 3, 4, 5)),
    dict(layer="BatchNormalization", config={}, shape=(6, 5), training=True),
    dict(layer="BatchNormalization", config={}, shape=(6, 5), training=False),
    dict(layer="BatchNormalization", config=dict(momentum=0.9, epsilon=1e-2), shape=(3, 4, 4, 3),
         training=True),
    dict(layer="BatchNormalization", config={}, shape=(3, 4, 4, 3), training=False),
    dict(layer="ReLU", config={}, shape=(3, 7)),
    dict(layer="LeakyReLU", config={}, shape=(2, 3, 3, 2)),
    dict(layer="LeakyReLU", config=dict(negative_slope=0.01), shape=(3, 7)),
    dict(layer="Activation", config=dict(activation="tanh"), shape=(3, 7)),
    dict(layer="Activation", config=dict(activation="sigmoid"), shape=(3, 7)),
    dict(layer="Activation", config=dict(activation="softmax"), shape=(3, 7)),
    dict(layer="Softmax", config={}, shape=(2, 3, 3, 4)),
    dict(layer="Dropout", config=dict(rate=0.0), shape=(3, 7), training=True),
    dict(layer="Dropout", config=dict(rate=0.5), shape=(3, 7), training=False),
    dict(layer="Normalization", config={}, shape=(4, 3, 5)),
    # The layers of MobileNetV2 and the functional API (appended: earlier seeds unchanged)
    dict(layer="DepthwiseConv2D", config=dict(kernel_size=3, padding="same"), shape=(2, 6, 5, 4)),
    dict(layer="DepthwiseConv2D", config=dict(kernel_size=3, strides=2, padding="valid", use_bias=False),
         shape=(2, 7, 8, 3)),
    dict(layer="DepthwiseConv2D", config=dict(kernel_size=(2, 3), strides=2, padding="same",
                                              depth_multiplier=3, activation="tanh"), shape=(1, 5, 6, 2)),
    dict(layer="Conv2DTranspose", config=dict(filters=3, kernel_size=3, strides=2, padding="same"),
         shape=(2, 4, 3, 2)),
    dict(layer="Conv2DTranspose", config=dict(filters=2, kernel_size=(2, 3), strides=(3, 1),
                                              padding="valid", activation="relu"), shape=(2, 3, 4, 3)),
    dict(layer="Conv2DTranspose", config=dict(filters=4, kernel_size=1, strides=2, padding="same",
                                              use_bias=False), shape=(1, 3, 3, 2)),
    dict(layer="ReLU", config=dict(max_value=6.0), shape=(3, 4, 4, 2)),
    dict(layer="ReLU", config=dict(max_value=1.0), shape=(3, 7)),
    dict(layer="ZeroPadding2D", config=dict(padding=((0, 1), (2, 1))), shape=(2, 3, 4, 2)),
]
for i, case in enumerate(LAYER_CASES):
    case.setdefault("training", False)
    case["seed"] = 100 + i
    case["name"] = f"{i:02d}_{case['layer']}"


def weight_values(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Test weights: away from their initial values so every term matters.

    Kernels get std 1/sqrt(fan_in), as trained networks have: with a fixed
    std of 0.5, a 2x2x64 kernel gave pre-activations near 12, where tanh is
    saturated and 1 - tanh^2 keeps only ~4 correct digits in float32 in any
    engine - the comparison then measured rounding, not the layer (seen as
    2e-5 differences in dkernel against Keras when the summation order changed).
    """
    if name in ("gamma", "moving_variance", "variance"):
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if name == "count":
        return np.asarray(50, np.float32)
    if name == "kernel":
        fan_in = int(np.prod(shape[:-1]))
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    return (rng.standard_normal(shape) * 0.5).astype(np.float32)


def layer_data(case: dict, weight_specs: list[tuple[str, tuple[int, ...]]], output_shape) -> dict:
    """x, the upstream gradient g = dL/dy, the weights, and (Normalization) adapt data."""
    rng = np.random.default_rng(case["seed"])
    data = {"x": rng.standard_normal(case["shape"]).astype(np.float32) * 1.5}
    if case["layer"] == "Normalization":
        data["adapt"] = (rng.standard_normal((40,) + tuple(case["shape"][1:])) * 2 + 1).astype(np.float32)
    data["g"] = rng.standard_normal(output_shape).astype(np.float32)
    data["weights"] = [weight_values(n, s, rng) for n, s in weight_specs]
    return data


# ---------------------------------------------------------------- losses
LOSS_CASES = []
for kind in ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy"):
    for from_logits in (False, True):
        for saturated in (False, True):
            LOSS_CASES.append(dict(loss=kind, from_logits=from_logits, saturated=saturated,
                                   name=f"{kind}_{'logits' if from_logits else 'probs'}"
                                        f"{'_saturated' if saturated else ''}"))
# Weighted: one weight per sample (fit's sample_weight and class_weight end here)
for kind in ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy"):
    for from_logits in (False, True):
        LOSS_CASES.append(dict(loss=kind, from_logits=from_logits, saturated=False, weighted=True,
                               name=f"{kind}_{'logits' if from_logits else 'probs'}_weighted"))
for i, case in enumerate(LOSS_CASES):
    case["seed"] = 300 + i


def loss_data(case: dict) -> dict:
    rng = np.random.default_rng(case["seed"])
    n, k = 6, 4
    labels = rng.integers(0, k, n)
    if case["loss"] == "binary_crossentropy":
        y_true = rng.integers(0, 2, (n, k)).astype(np.float32)
    elif case["loss"] == "categorical_crossentropy":
        y_true = np.eye(k, dtype=np.float32)[labels]
    else:
        y_true = labels
    z = rng.standard_normal((n, k)).astype(np.float32) * 2
    if case["saturated"]:
        # Logits of +-100; probabilities of exactly 0 and 1, for the true class
        # and against it (rows 0-1 right, rows 2-3 wrong).
        z[:4] = -100.0
        hot = labels if case["loss"] != "binary_crossentropy" else np.zeros(n, int)
        z[[0, 1], hot[[0, 1]]] = 100.0
        z[[2, 3], (hot[[2, 3]] + 1) % k] = 100.0
    extra = {"sample_weight": rng.uniform(0, 3, n).astype(np.float32)} if case.get("weighted") else {}
    if case["from_logits"]:
        y_pred = z
    elif case["loss"] == "binary_crossentropy":
        y_pred = (1 / (1 + np.exp(-z.astype(np.float64)))).astype(np.float32)
    else:
        e = np.exp(z.astype(np.float64) - z.max(axis=1, keepdims=True))
        y_pred = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return {"y_true": y_true, "y_pred": y_pred, **extra}


# ---------------------------------------------------------------- optimizers
OPTIMIZER_CASES = [
    dict(name="sgd", optimizer="SGD", config=dict(learning_rate=0.1)),
    dict(name="sgd_momentum", optimizer="SGD", config=dict(learning_rate=0.05, momentum=0.9)),
    dict(name="sgd_nesterov", optimizer="SGD", config=dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    dict(name="adam", optimizer="Adam", config=dict(learning_rate=0.01)),
    dict(name="adam_defaults", optimizer="Adam", config={}),
    dict(name="rmsprop", optimizer="RMSprop", config=dict(learning_rate=0.01)),
    # decoupled weight decay (AdamW, and Keras 3's weight_decay on the others) and clipping
    dict(name="adamw", optimizer="AdamW", config=dict(learning_rate=0.01, weight_decay=0.05)),
    dict(name="adam_weight_decay", optimizer="Adam", config=dict(learning_rate=0.01, weight_decay=0.02)),
    dict(name="sgd_weight_decay", optimizer="SGD", config=dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01)),
    dict(name="adam_clipnorm", optimizer="Adam", config=dict(learning_rate=0.01, clipnorm=0.5)),
    dict(name="sgd_global_clipnorm", optimizer="SGD", config=dict(learning_rate=0.1, global_clipnorm=1.0)),
    dict(name="rmsprop_clipvalue", optimizer="RMSprop", config=dict(learning_rate=0.01, clipvalue=0.1)),
    # learning-rate schedules over 100 steps ({"schedule": class name, ...}: built by each side)
    dict(name="sgd_exponential_decay", optimizer="SGD", steps=100, config=dict(learning_rate=dict(
        schedule="ExponentialDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.7))),
    dict(name="sgd_exponential_staircase", optimizer="SGD", steps=100, config=dict(learning_rate=dict(
        schedule="ExponentialDecay", initial_learning_rate=0.1, decay_steps=15, decay_rate=0.5, staircase=True))),
    dict(name="sgd_piecewise", optimizer="SGD", steps=100, config=dict(learning_rate=dict(
        schedule="PiecewiseConstantDecay", boundaries=[20, 50], values=[0.1, 0.05, 0.01]))),
    dict(name="adam_cosine", optimizer="Adam", steps=100, config=dict(learning_rate=dict(
        schedule="CosineDecay", initial_learning_rate=0.01, decay_steps=80, alpha=0.1))),
    dict(name="adamw_cosine_warmup", optimizer="AdamW", steps=100, config=dict(weight_decay=0.01, learning_rate=dict(
        schedule="CosineDecay", initial_learning_rate=0.0, decay_steps=70, warmup_target=0.01, warmup_steps=20))),
]
for i, case in enumerate(OPTIMIZER_CASES):
    case["seed"] = 400 + i


def optimizer_data(case: dict) -> dict:
    rng = np.random.default_rng(case["seed"])
    shapes = [(3, 4), (4,)]
    return {"w0": [rng.standard_normal(s).astype(np.float32) for s in shapes],
            "grads": [[(rng.standard_normal(s) * 10 ** rng.uniform(-3, 1)).astype(np.float32)
                       for s in shapes] for _ in range(case.get("steps", 10))]}


def optimizer_config(case: dict, schedules_module) -> dict:
    """The case's optimizer arguments, its learning-rate schedule built from ``schedules_module``
    (``keras.optimizers.schedules`` or ``minicnn.schedules``)."""
    config = dict(case["config"])
    rate = config.get("learning_rate")
    if isinstance(rate, dict):
        settings = {k: v for k, v in rate.items() if k != "schedule"}
        config["learning_rate"] = getattr(schedules_module, rate["schedule"])(**settings)
    return config


# ---------------------------------------------------------------- seed models
MODEL_CASES = [
    dict(name="mnist_mlp", input_shape=(28, 28), loss="sparse_categorical_crossentropy",
         optimizer="SGD", optimizer_config=dict(learning_rate=0.05), seed=500),
    dict(name="mnist_cnn", input_shape=(28, 28, 1), loss="sparse_categorical_crossentropy",
         optimizer="Adam", optimizer_config={}, seed=501),
    dict(name="cifar10_cnn", input_shape=(32, 32, 3), loss="categorical_crossentropy",
         optimizer="Adam", optimizer_config=dict(learning_rate=5e-4), seed=502),
    # Functional API (tf_reference/graphs.py): a hand-built graph, and MobileNetV2 at
    # 40x40 - odd sizes (5x5) reach the stride-2 padding of the deep blocks.
    dict(name="functional_graph", input_shape=(9, 9, 3), loss="sparse_categorical_crossentropy",
         optimizer="Adam", optimizer_config=dict(learning_rate=1e-3), seed=503),
    # MobileNetV2 is compared in inference only (outputs, input gradient): in training, 52
    # BatchNorms in float32 move some ReLU6 inputs across 0 between engines (measured: a
    # Conv_1_bn output of 5e-5 whose kink decides a dkernel entry), so its gradients
    # are not comparable at 1e-4 - ours match float64 finite differences instead.
    dict(name="mobilenet_v2", input_shape=(40, 40, 3), loss="sparse_categorical_crossentropy",
         optimizer="SGD", optimizer_config=dict(learning_rate=0.01), seed=504, steps=0),
    # Regularizers in the loss and the gradients, AdamW with clipping, class weights:
    # 10 steps (graphs.regularized_cnn)
    dict(name="regularized_cnn", input_shape=(8, 8, 3), loss="sparse_categorical_crossentropy",
         optimizer="AdamW", optimizer_config=dict(learning_rate=3e-3, weight_decay=0.01, clipnorm=1.0),
         seed=505, steps=10, class_weight={i: 0.5 + 0.25 * (i % 4) for i in range(10)}),
]
BATCH, STEPS = 8, 5


def model_weights(weight_specs: list[tuple[str, tuple[int, ...]]], seed: int) -> list[np.ndarray]:
    """Glorot-scaled kernels, small biases, BatchNorm statistics away from 0/1."""
    rng = np.random.default_rng(seed)
    out = []
    for name, shape in weight_specs:
        if name == "kernel":
            fan_in = int(np.prod(shape[:-1]))
            fan_out = int(np.prod(shape[:-2])) * shape[-1]
            limit = np.sqrt(6 / (fan_in + fan_out))
            out.append(rng.uniform(-limit, limit, shape).astype(np.float32))
        elif name in ("gamma", "moving_variance"):
            out.append(rng.uniform(0.8, 1.2, shape).astype(np.float32))
        else:  # bias, beta, moving_mean
            out.append((rng.standard_normal(shape) * 0.05).astype(np.float32))
    return out


def model_data(case: dict) -> dict:
    rng = np.random.default_rng(case["seed"] + 1000)
    n = BATCH * (case.get("steps", STEPS) + 1)
    x = rng.random((n,) + tuple(case["input_shape"])).astype(np.float32)
    labels = rng.integers(0, 10, n)
    y = np.eye(10, dtype=np.float32)[labels] if case["loss"] == "categorical_crossentropy" else labels
    return {"x": x, "y": y}


# ---------------------------------------------------------------- digests
def sample_index(size: int) -> np.ndarray:
    """Fixed positions to sample in an array of this size (all of them if small)."""
    if size <= DIGEST_SAMPLES:
        return np.arange(size)
    return np.sort(np.random.default_rng(size).choice(size, DIGEST_SAMPLES, replace=False))


def digest(array: np.ndarray) -> dict[str, np.ndarray]:
    """A compact, comparable summary of an array (see the module docstring)."""
    flat = np.asarray(array, np.float64).reshape(-1)
    return {"shape": np.array(array.shape), "sample": flat[sample_index(flat.size)].astype(np.float32),
            "sum": np.array(flat.sum()), "sumsq": np.array((flat * flat).sum())}
