"""The same model in Keras and in PyTorch, built from a minicnn model's layers.

Used by the benchmark scripts to time the *same* architecture side by side.
Each peer is optional: ``keras_available()`` / ``torch_available()`` say
whether it can be imported here. Weights are copied into Keras (same layout,
so its numbers match minicnn's); the PyTorch copy has the same shapes and
FLOPs but its own initial weights (only its speed is measured).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def keras_available() -> bool:
    return importlib.util.find_spec("keras") is not None and importlib.util.find_spec("tensorflow") is not None


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def versions() -> dict[str, str]:
    import numba

    import minicnn
    found = {"minicnn": minicnn.__version__, "numpy": np.__version__, "numba": numba.__version__}
    if keras_available():
        import keras
        import tensorflow as tf
        found.update(keras=keras.__version__, tensorflow=tf.__version__)
    if torch_available():
        import torch
        found["torch"] = torch.__version__
    return found


# ---------------------------------------------------------------------------- Keras
def keras_model(model, optimizer: str = "adam", learning_rate: float = 1e-3):
    """A compiled ``keras.Sequential`` with minicnn ``model``'s layers and weights."""
    import keras
    L = keras.layers
    stack = [keras.Input(tuple(model.input_shape))]
    for layer in model.layers:
        kind, cfg = type(layer).__name__, layer.get_config()
        if kind == "Conv2D":
            stack.append(L.Conv2D(cfg["filters"], tuple(cfg["kernel_size"]), strides=tuple(cfg["strides"]),
                                  padding=cfg["padding"], activation=cfg["activation"], use_bias=cfg["use_bias"]))
        elif kind == "Dense":
            stack.append(L.Dense(cfg["units"], activation=cfg["activation"], use_bias=cfg["use_bias"]))
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            cls = L.MaxPooling2D if kind == "MaxPooling2D" else L.AveragePooling2D
            stack.append(cls(tuple(cfg["pool_size"]), strides=tuple(cfg["strides"]), padding=cfg["padding"]))
        elif kind == "BatchNormalization":
            stack.append(L.BatchNormalization(momentum=cfg["momentum"], epsilon=cfg["epsilon"]))
        elif kind == "LeakyReLU":
            stack.append(L.LeakyReLU(negative_slope=cfg["negative_slope"]))
        elif kind == "Activation":
            stack.append(L.Activation(cfg["activation"]))
        elif kind == "Softmax":
            stack.append(L.Softmax())
        elif kind == "ReLU":
            stack.append(L.ReLU(max_value=cfg["max_value"]))
        elif kind == "Dropout":
            stack.append(L.Dropout(cfg["rate"]))
        elif kind == "Flatten":
            stack.append(L.Flatten())
        elif kind == "GlobalAveragePooling2D":
            stack.append(L.GlobalAveragePooling2D())
        elif kind == "RandomFlip":
            stack.append(L.RandomFlip(cfg["mode"]))
        elif kind == "RandomTranslation":
            stack.append(L.RandomTranslation(tuple(cfg["height_factor"]), tuple(cfg["width_factor"]),
                                             fill_mode=cfg["fill_mode"], interpolation=cfg["interpolation"],
                                             fill_value=cfg["fill_value"]))
        else:
            raise NotImplementedError(f"no Keras peer for {kind}")
    peer = keras.Sequential(stack)
    peer.set_weights(model.get_weights())
    opt = keras.optimizers.Adam(learning_rate) if optimizer == "adam" else keras.optimizers.SGD(learning_rate)
    peer.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    return peer


# ---------------------------------------------------------------------------- PyTorch
def torch_model(model):
    """``(net, optimizer_factory)``: a ``torch.nn.Sequential`` with the same shapes (NCHW inside).

    TensorFlow's 'same' padding (extra pixel bottom/right, any stride) is an
    explicit ``ZeroPad2d`` before a padding-free convolution or pooling.
    """
    import torch
    from torch import nn
    mods: list = []
    shape = tuple(model.input_shape)              # (H, W, C) of the current tensor
    for layer in model.layers:
        kind, cfg = type(layer).__name__, layer.get_config()
        if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
            geo = layer.geometry()
            if geo.pad_top or geo.pad_bottom or geo.pad_left or geo.pad_right:
                mods.append(nn.ZeroPad2d((geo.pad_left, geo.pad_right, geo.pad_top, geo.pad_bottom)))
            if kind == "Conv2D":
                mods.append(nn.Conv2d(shape[-1], cfg["filters"], tuple(cfg["kernel_size"]),
                                      stride=tuple(cfg["strides"]), bias=cfg["use_bias"]))
                mods += _torch_activation(cfg["activation"])
            elif kind == "MaxPooling2D":
                mods.append(nn.MaxPool2d(tuple(cfg["pool_size"]), stride=tuple(cfg["strides"])))
            else:
                mods.append(nn.AvgPool2d(tuple(cfg["pool_size"]), stride=tuple(cfg["strides"])))
        elif kind == "Dense":
            mods.append(nn.Linear(shape[-1], cfg["units"], bias=cfg["use_bias"]))
            mods += _torch_activation(cfg["activation"])
        elif kind == "BatchNormalization":
            # Keras momentum m keeps m of the old statistic; PyTorch's momentum is the new share.
            cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            mods.append(cls(shape[-1], eps=cfg["epsilon"], momentum=1 - cfg["momentum"]))
        elif kind == "LeakyReLU":
            mods.append(nn.LeakyReLU(cfg["negative_slope"]))
        elif kind in ("Activation", "Softmax"):
            mods += _torch_activation(cfg.get("activation", "softmax"))
        elif kind == "ReLU":
            mods.append(nn.ReLU() if cfg["max_value"] is None else nn.Hardtanh(0.0, cfg["max_value"]))
        elif kind == "Dropout":
            mods.append(nn.Dropout(cfg["rate"]))
        elif kind == "Flatten":
            mods.append(nn.Flatten())
        elif kind == "GlobalAveragePooling2D":
            mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        else:
            raise NotImplementedError(f"no PyTorch peer for {kind}")
        shape = layer.output_shape
    if mods and isinstance(mods[-1], nn.Softmax):
        mods.pop()      # CrossEntropyLoss takes the logits (what Keras's shortcut does too)
    net = nn.Sequential(*mods)
    return net, lambda lr=1e-3: torch.optim.Adam(net.parameters(), lr=lr, eps=1e-7)


def _torch_activation(name: str) -> list:
    from torch import nn
    table = {"relu": nn.ReLU, "softmax": lambda: nn.Softmax(dim=1), "tanh": nn.Tanh,
             "sigmoid": nn.Sigmoid, "leaky_relu": lambda: nn.LeakyReLU(0.2)}
    if name in (None, "linear"):
        return []
    return [table[name]()]


def to_nchw(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, C, H, W), contiguous (PyTorch's layout)."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.ndim == 4 else x
