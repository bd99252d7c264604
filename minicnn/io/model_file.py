"""Model files: the architecture as JSON and the weights as plain arrays, no pickle.

A ``.minicnn`` file is a NumPy ``.npz`` archive (a zip) holding

* ``config``  - one JSON string: the format name and version, the model's
  name, its input shape, every layer as ``{"class_name", "config"}`` in order
  (for a functional ``Model``, version 3: each layer also lists the layers it
  reads from, ``"inbound"``, and the config names the output layers),
  a manifest of the weight arrays (layer, weight name, shape), and the
  *training state*: epochs completed, the state of every random generator
  (shuffling, dropout masks) and the history so far;
* ``w0000``, ``w0001``, ... - the weights, in ``get_weights()`` order
  (BatchNorm's moving statistics included);
* optionally ``compile`` - the loss and optimizer settings as JSON;
* optionally ``o0000``, ``o0001``, ... - the optimizer's state (its step
  counter, then every slot array, see ``Optimizer.get_state``).

With the optimizer and the generators restored, training a loaded model
takes exactly the steps the saved one would have taken: that is what makes
``fit(..., initial_epoch=)`` after a crash end on the same weights, bit for
bit, as a run that never stopped.

Loading uses ``allow_pickle=False``: a file can hold only numbers and text,
and a layer class is looked up by name in minicnn's own list - nothing in the
file is ever imported or executed. Writing is atomic (``minicnn.io.atomic``).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .. import layers as layer_module
from .. import losses, optimizers
from ..errors import MiniCNNError, ModelFileError
from ..model.base import BaseModel
from ..model.functional import Model
from ..model.sequential import Sequential
from .atomic import atomic_write

FORMAT = "minicnn-model"
FORMAT_VERSION = 2             # Sequential models
FUNCTIONAL_VERSION = 3         # functional Models: the same, plus the graph
READABLE_VERSIONS = (1, 2, 3)  # version 1 had no optimizer or training state

_LAYER_CLASSES = {cls.__name__: cls for cls in vars(layer_module).values()
                  if isinstance(cls, type) and issubclass(cls, layer_module.Layer)}


def _generators(model) -> dict[str, np.random.Generator]:
    """Every random generator training draws from: the model's (shuffling) and
    each layer's own (dropout masks), keyed by owner."""
    found = {"model": model.rng}
    for layer in model.layers:
        rng = getattr(layer, "_rng", None)
        if isinstance(rng, np.random.Generator):
            found[layer.name] = rng
    return found


def save_model(model, path: str | os.PathLike, include_compile: bool = True,
               include_optimizer: bool = True) -> Path:
    """Write ``model`` to ``path`` atomically (see the module docstring)."""
    if not model.built:
        raise ModelFileError(f"model {model.name!r} is not built yet; nothing to save")
    functional = model.layers[0] is model.input_layer  # a Model lists its InputLayer first
    if functional:
        layers = [{"class_name": type(layer).__name__, "config": layer.get_config(),
                   "inbound": [t.layer.name for t in layer.inbound]} for layer in model.layers]
    else:
        layers = [{"class_name": "InputLayer", "config": model.input_layer.get_config()}] \
            if model.input_layer is not None else []
        layers += [{"class_name": type(layer).__name__, "config": layer.get_config()}
                   for layer in model.layers]
    manifest, arrays = [], {}
    for layer in model.layers:
        for p in layer.weights:
            key = f"w{len(manifest):04d}"
            manifest.append({"key": key, "layer": layer.name, "name": p.name, "shape": list(p.value.shape)})
            arrays[key] = p.value
    history = model.history.history if model.history is not None else {}
    training = {"completed_epochs": model.completed_epochs,
                "generators": {owner: rng.bit_generator.state for owner, rng in _generators(model).items()},
                "history": {k: [float(v) for v in values] for k, values in history.items()}}
    config = {"format": FORMAT, "version": FUNCTIONAL_VERSION if functional else FORMAT_VERSION,
              "name": model.name, "seed": model.seed,
              "input_shape": list(model.input_shape), "dtype": str(model.dtype), "layers": layers,
              "weights": manifest, "training": training, "optimizer_arrays": 0}
    if functional:
        config["outputs"] = [t.layer.name for t in model.outputs]
        config["list_output"] = isinstance(model.output, list)
    if include_compile and model.compiled:
        arrays["compile"] = np.array(json.dumps({"loss": model.loss.get_config(),
                                                 "optimizer": model.optimizer.get_config(),
                                                 "metrics": model.metrics}))
        if include_optimizer:
            state = model.optimizer.get_state(model.trainable_weights)
            config["optimizer_arrays"] = len(state)
            arrays.update({f"o{i:04d}": a for i, a in enumerate(state)})
    arrays["config"] = np.array(json.dumps(config))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ModelFileError(f"{path}: a single .npy array, not a minicnn model file")
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except ModelFileError:
        raise
    # zipfile and the .npy reader raise many kinds of errors on damaged bytes
    # (a flipped bit in a header can even surface as UnicodeDecodeError or
    # zlib.error); every one of them means "this file is damaged".
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{path}: not a readable minicnn model file (truncated or corrupt: "
                             f"{type(exc).__name__}: {exc})") from None


def _read_config(path: Path, arrays: dict[str, np.ndarray]) -> dict:
    entry = arrays.pop("config", None)
    if entry is None:
        raise ModelFileError(f"{path}: no 'config' entry; not a minicnn model file")
    if entry.dtype.kind != "U" or entry.ndim != 0:
        raise ModelFileError(f"{path}: the config entry is {entry.dtype} {entry.shape}, expected one string")
    try:
        config = json.loads(str(entry))
    except ValueError as exc:
        raise ModelFileError(f"{path}: the config entry is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ModelFileError(f"{path}: not a minicnn model file (format {found!r})")
    if config.get("version") not in READABLE_VERSIONS:
        raise ModelFileError(f"{path}: format version {config.get('version')!r}; this minicnn reads "
                             f"versions {list(READABLE_VERSIONS)}")
    return config


def _build_graph(path: Path, config: dict):
    """Rebuild a functional Model: make each layer, call it on the tensors it read."""
    tensors = {}  # layer name -> its output tensor
    for entry in config["layers"]:
        cls = _LAYER_CLASSES.get(entry["class_name"])
        if cls is None:
            raise ModelFileError(f"{path}: unknown layer class {entry['class_name']!r}")
        if cls is layer_module.InputLayer:
            tensor = layer_module.Input(**entry["config"])
        else:
            missing = [name for name in entry["inbound"] if name not in tensors]
            if missing or not entry["inbound"]:
                raise ModelFileError(f"{path}: layer {entry['config'].get('name')!r} reads from "
                                     f"{entry['inbound']!r}, not all of which come before it")
            inputs = [tensors[name] for name in entry["inbound"]]
            layer = cls(**entry["config"])
            tensor = layer(inputs if layer.multi_input else inputs[0])
        tensors[tensor.layer.name] = tensor
    inputs = [t for t in tensors.values() if isinstance(t.layer, layer_module.InputLayer)]
    outputs = [tensors[name] for name in config["outputs"]]
    return Model(inputs[0] if len(inputs) == 1 else inputs,
                 outputs if config["list_output"] else outputs[0],
                 name=config["name"], seed=config.get("seed"))


def _build(path: Path, config: dict):
    try:
        if config.get("version") == FUNCTIONAL_VERSION:
            return _build_graph(path, config)
        built = []
        for entry in config["layers"]:
            cls = _LAYER_CLASSES.get(entry["class_name"])
            if cls is None:
                raise ModelFileError(f"{path}: unknown layer class {entry['class_name']!r}")
            built.append(cls(**entry["config"]))
        model = Sequential(built, name=config["name"], seed=config.get("seed"))
        if not model.built:
            model.build(tuple(config["input_shape"]))
        return model
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, MiniCNNError) as exc:
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt ({type(exc).__name__}: {exc})") from None


def _check_numeric(path: Path, key: str, value: np.ndarray) -> None:
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
        raise ModelFileError(f"{path}: array {key} has dtype {value.dtype}, expected numbers")


def _load_weights(path: Path, model, manifest, arrays: dict[str, np.ndarray]) -> None:
    expected = [(layer.name, p) for layer in model.layers for p in layer.weights]
    try:
        keys = [m["key"] for m in manifest]
    except (TypeError, KeyError):
        raise ModelFileError(f"{path}: the weight manifest is malformed") from None
    weight_arrays = {k for k in arrays if k.startswith("w")}
    missing, extra = set(keys) - weight_arrays, weight_arrays - set(keys)
    if missing or extra or len(keys) != len(expected):
        raise ModelFileError(f"{path}: weight arrays do not match the architecture (missing "
                             f"{sorted(missing)}, unexpected {sorted(extra)}, {len(keys)} listed, "
                             f"{len(expected)} needed)")
    for m, (layer_name, p) in zip(manifest, expected):
        value = arrays[m["key"]]
        _check_numeric(path, m["key"], value)
        if m.get("layer") != layer_name or m.get("name") != p.name or value.shape != p.value.shape:
            raise ModelFileError(f"{path}: array {m['key']} is {m.get('layer')}.{m.get('name')} "
                                 f"{value.shape}, expected {layer_name}.{p.name} {p.value.shape}")
        p.value[...] = value
    for layer in model.layers:
        if hasattr(layer, "adapted"):
            layer.adapted = True


def _restore_training_state(path: Path, model, training) -> None:
    """Epochs completed, the generators and the history (see the module docstring)."""
    if training is None:  # a version-1 file
        return
    try:
        model.completed_epochs = int(training["completed_epochs"])
        generators = _generators(model)
        for owner, state in training["generators"].items():
            if owner not in generators:
                raise ModelFileError(f"{path}: a random generator state for {owner!r}, which this "
                                     "model does not have")
            rng = np.random.Generator(np.random.PCG64())
            rng.bit_generator.state = state
            if owner == "model":
                model.rng = rng  # the loaded model continues the saved sequence
            else:
                model.get_layer(owner)._rng = rng
        history = {str(k): [float(v) for v in values] for k, values in training["history"].items()}
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ModelFileError(f"{path}: the training state cannot be read ({type(exc).__name__}: {exc})") from None
    from ..callbacks import History
    model.history = History()
    model.history.history = history
    model.history.epoch = list(range(len(next(iter(history.values()), []))))


def _compile(path: Path, model, compile_config: np.ndarray, optimizer_arrays: list[np.ndarray]) -> None:
    try:
        settings = json.loads(str(compile_config))
        loss = losses.from_config(settings["loss"])
        opt = optimizers.from_config(settings["optimizer"])
        metrics = settings.get("metrics") or None
    except (ValueError, KeyError, TypeError, AttributeError, MiniCNNError) as exc:
        raise ModelFileError(f"{path}: the compile settings cannot be read ({type(exc).__name__}: {exc})") from None
    model.compile(loss=loss, optimizer=opt, metrics=metrics)
    if optimizer_arrays:
        try:
            opt.set_state(model.trainable_weights, optimizer_arrays)
        except (MiniCNNError, TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(f"{path}: the optimizer state does not fit the model ({exc})") from None


def load_model(path: str | os.PathLike, compile: bool = True):
    """Rebuild a model saved with ``model.save``: architecture, weights, compile
    settings, optimizer state and training state.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupt, tampered or foreign file, another
        format version, or arrays that are missing, extra or of the wrong shape.
    """
    path = Path(path)
    arrays = _read(path)
    config = _read_config(path, arrays)
    model = _build(path, config)
    _load_weights(path, model, config.get("weights"), arrays)
    _restore_training_state(path, model, config.get("training"))
    try:
        n_opt = int(config.get("optimizer_arrays", 0))
    except (TypeError, ValueError):
        raise ModelFileError(f"{path}: 'optimizer_arrays' is not a count") from None
    opt_keys = [f"o{i:04d}" for i in range(n_opt)]
    found = sorted(k for k in arrays if k.startswith("o"))
    if found != opt_keys:
        raise ModelFileError(f"{path}: optimizer arrays {found[:4]}... do not match the "
                             f"{n_opt} listed in the config")
    for key in opt_keys:
        _check_numeric(path, key, arrays[key])
    unknown = set(arrays) - {"compile"} - {k for k in arrays if k[:1] in "wo"}
    if unknown:
        raise ModelFileError(f"{path}: unexpected {sorted(unknown)} entries")
    if compile and "compile" in arrays:
        _compile(path, model, arrays["compile"], [arrays[k] for k in opt_keys])
    return model


# ``model.save(path)`` writes through this module: the model package never
# imports io (the dependencies run one way, io -> model), so io hands the
# models its writer here, when minicnn is imported.
BaseModel.file_writer = staticmethod(save_model)
