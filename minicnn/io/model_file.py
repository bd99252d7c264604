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
import re
from pathlib import Path

import numpy as np

from .. import layers as layer_module
from .. import losses, optimizers
from ..errors import MiniCNNError, ModelFileError
from ..model.base import BaseModel
from ..model.functional import Model
from ..model.sequential import Sequential
from ..layers.base import weight_budget
from .atomic import atomic_write
from .npz_reader import NpzReader

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
    if Path(path).suffix.lower() in (".keras", ".h5", ".hdf5"):
        from .keras_model import save_keras_model
        return save_keras_model(model, path)       # Keras's formats, which keras.saving.load_model opens
    functional = model.layers[0] is model.input_layer  # a Model lists its InputLayer first
    def config_of(layer) -> dict:
        config = layer.get_config()
        if not getattr(layer, "trainable", True):
            config["trainable"] = False      # a frozen layer stays frozen
        return config

    if functional:
        layers = [{"class_name": type(layer).__name__, "config": config_of(layer),
                   "inbound": [t.layer.name for t in layer.inbound]} for layer in model.layers]
    else:
        layers = [{"class_name": "InputLayer", "config": model.input_layer.get_config()}] \
            if model.input_layer is not None else []
        layers += [{"class_name": type(layer).__name__, "config": config_of(layer)}
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
    if model.data_info is not None:
        config["data"] = model.data_info
    if functional:
        config["outputs"] = [t.layer.name for t in model.outputs]
        config["list_output"] = isinstance(model.output, list)
    if include_compile and model.compiled:
        arrays["compile"] = np.array(json.dumps({"loss": model.loss.get_config(),
                                                 "optimizer": model.optimizer.get_config(),
                                                 "metrics": [m.get_config() for m in model.metrics]}))
        if include_optimizer:
            state = model.optimizer.get_state(model.trainable_weights)
            config["optimizer_arrays"] = len(state)
            arrays.update({f"o{i:04d}": a for i, a in enumerate(state)})
    arrays["config"] = np.array(json.dumps(config))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


#: member names a model file may hold, and the most bytes one member may declare
_MEMBERS = re.compile(r"config|compile|w\d{4}|o\d{4}")
MEMBER_CAP = 2**31
CONFIG_CAP = 16 * 2**20


def _read_config(path: Path, archive: NpzReader) -> dict:
    if "config" not in archive.members:
        raise ModelFileError(f"{path}: no 'config' entry; not a minicnn model file")
    shape, dtype = archive.header("config")
    if dtype.kind != "U" or shape != () or archive.members["config"].file_size > CONFIG_CAP:
        raise ModelFileError(f"{path}: the config entry is {dtype} {shape}, expected one string "
                             f"of at most {CONFIG_CAP} bytes")
    try:
        config = json.loads(str(archive.read("config")))
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the config entry is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ModelFileError(f"{path}: not a minicnn model file (format {found!r})")
    version = config.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise ModelFileError(f"{path}: format version {version!r}; this minicnn reads "
                             f"versions {list(READABLE_VERSIONS)}")
    return config


def _check_manifest(path: Path, archive: NpzReader, manifest) -> int:
    """Every manifest entry names a member whose header agrees with it; returns the weight values in all."""
    if not isinstance(manifest, list):
        raise ModelFileError(f"{path}: the weight manifest is malformed (a {type(manifest).__name__})")
    total, keys = 0, []
    for m in manifest:
        if not (isinstance(m, dict) and isinstance(m.get("key"), str) and isinstance(m.get("layer"), str)
                and isinstance(m.get("name"), str) and isinstance(m.get("shape"), list)
                and all(type(d) is int and d >= 0 for d in m["shape"])):
            raise ModelFileError(f"{path}: the weight manifest is malformed (entry {m!r:.80})")
        keys.append(m["key"])
        if m["key"] not in archive.members or not m["key"].startswith("w"):
            raise ModelFileError(f"{path}: the manifest lists {m['key']!r}, which the file does not hold")
        shape, dtype = archive.header(m["key"])
        if shape != tuple(m["shape"]) or dtype.kind != "f":
            raise ModelFileError(f"{path}: array {m['key']} is {dtype} {shape}; the manifest says "
                                 f"{m['layer']}.{m['name']} {tuple(m['shape'])} of floats")
        total += int(np.prod(shape, dtype=np.int64))
    listed = {k for k in archive.members if k.startswith("w")}
    if len(set(keys)) != len(keys) or set(keys) != listed:
        raise ModelFileError(f"{path}: weight arrays do not match the manifest (listed {len(keys)}, "
                             f"held {sorted(listed)[:4]}...)")
    return total


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
    names = config["outputs"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n in tensors for n in names):
        raise ModelFileError(f"{path}: 'outputs' must list the output layers by name, got {names!r:.80}")
    outputs = [tensors[name] for name in names]
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
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError, MiniCNNError) as exc:
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt ({type(exc).__name__}: {exc})") from None


def _load_weights(path: Path, model, manifest, archive: NpzReader) -> None:
    expected = [(layer.name, p) for layer in model.layers for p in layer.weights]
    if len(manifest) != len(expected):
        raise ModelFileError(f"{path}: the file holds {len(manifest)} weight arrays, the architecture "
                             f"needs {len(expected)}")
    for m, (layer_name, p) in zip(manifest, expected):
        if m["layer"] != layer_name or m["name"] != p.name or tuple(m["shape"]) != p.value.shape:
            raise ModelFileError(f"{path}: array {m['key']} is {m['layer']}.{m['name']} "
                                 f"{tuple(m['shape'])}, expected {layer_name}.{p.name} {p.value.shape}")
        value = archive.read(m["key"])
        if not np.isfinite(value).all():
            raise ModelFileError(f"{path}: array {m['key']} ({layer_name}.{p.name}) holds NaN or Inf")
        with np.errstate(over="raise"):
            try:
                cast = value.astype(p.value.dtype)
            except FloatingPointError:
                raise ModelFileError(f"{path}: array {m['key']} ({layer_name}.{p.name}) holds values "
                                     f"too large for {p.value.dtype}") from None
        if p.name == "moving_variance" and (cast < 0).any():
            raise ModelFileError(f"{path}: array {m['key']} ({layer_name}.moving_variance) holds a "
                                 "negative variance")
        p.value[...] = cast
    for layer in model.layers:
        if hasattr(layer, "adapted"):
            layer.adapted = True


def _restore_training_state(path: Path, model, training) -> None:
    """Epochs completed, the generators and the history (see the module docstring)."""
    if training is None:  # a version-1 file
        return
    try:
        completed = training["completed_epochs"]
        if type(completed) is not int or completed < 0:
            raise ModelFileError(f"{path}: completed_epochs must be a non-negative whole number, "
                                 f"got {completed!r}")
        model.completed_epochs = completed
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


def _data_info(path: Path, data) -> dict | None:
    """What the model was trained on (``model.data_info``), checked: a dataset name, its class
    names, and for an image folder its path."""
    if data is None:
        return None
    names = data.get("class_names") if isinstance(data, dict) else None
    if not (isinstance(data, dict) and set(data) <= {"dataset", "class_names", "image_folder"}
            and isinstance(data.get("dataset"), str) and len(data["dataset"]) <= 64
            and isinstance(names, list) and len(names) <= 100_000
            and all(isinstance(n, str) and len(n) <= 256 for n in names)
            and (data.get("image_folder") is None or isinstance(data["image_folder"], str))):
        raise ModelFileError(f"{path}: the 'data' entry must be {{dataset, class_names[, image_folder]}}, "
                             f"got {data!r:.200}")
    return {"dataset": data["dataset"], "class_names": list(names), "image_folder": data.get("image_folder")}


def _compile(path: Path, model, compile_config: np.ndarray, optimizer_arrays: list[np.ndarray]) -> None:
    try:
        settings = json.loads(str(compile_config))
        loss = losses.from_config(settings["loss"])
        opt = optimizers.from_config(settings["optimizer"])
        metrics = settings.get("metrics") or None
        model.compile(loss=loss, optimizer=opt, metrics=metrics)
    except (ValueError, KeyError, TypeError, AttributeError, MiniCNNError) as exc:
        raise ModelFileError(f"{path}: the compile settings cannot be read ({type(exc).__name__}: {exc})") from None
    if optimizer_arrays:
        step = optimizer_arrays[0]
        if step.shape != () or step.dtype.kind not in "iu" or int(step) < 0:
            raise ModelFileError(f"{path}: the optimizer's step count is {step.dtype} {step!r}, expected "
                                 "a non-negative whole number")
        for key, array in enumerate(optimizer_arrays[1:], start=1):
            if array.dtype.kind != "f" or not np.isfinite(array).all():
                raise ModelFileError(f"{path}: optimizer array o{key:04d} is not finite floats")
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
    if path.suffix.lower() in (".keras", ".h5", ".hdf5"):
        from .keras_model import load_keras_model
        return load_keras_model(path)              # architecture and weights; compile it to train
    archive = NpzReader(path, _MEMBERS, MEMBER_CAP)
    try:
        config = _read_config(path, archive)
        manifest = config.get("weights")
        values = _check_manifest(path, archive, manifest)
        # the architecture may not create more weight values than the file holds
        with weight_budget(values):
            model = _build(path, config)
        _load_weights(path, model, manifest, archive)
        _restore_training_state(path, model, config.get("training"))
        model.data_info = _data_info(path, config.get("data"))
        n_opt = config.get("optimizer_arrays", 0)
        cap = 1 + 3 * len(manifest)
        if type(n_opt) is not int or not 0 <= n_opt <= cap:
            raise ModelFileError(f"{path}: 'optimizer_arrays' must be a count from 0 to {cap}, got {n_opt!r}")
        opt_keys = [f"o{i:04d}" for i in range(n_opt)]
        found = sorted(k for k in archive.members if k.startswith("o"))
        if found != opt_keys:
            raise ModelFileError(f"{path}: optimizer arrays {found[:4]}... do not match the "
                                 f"{n_opt} listed in the config")
        if compile and "compile" in archive.members:
            shape, dtype = archive.header("compile")
            if dtype.kind != "U" or shape != () or archive.members["compile"].file_size > CONFIG_CAP:
                raise ModelFileError(f"{path}: the compile entry is {dtype} {shape}, expected one string")
            _compile(path, model, archive.read("compile"), [archive.read(k) for k in opt_keys])
    finally:
        archive.close()
    return model


# ``model.save(path)`` writes through this module: the model package never
# imports io (the dependencies run one way, io -> model), so io hands the
# models its writer here, when minicnn is imported.
BaseModel.file_writer = staticmethod(save_model)
