"""Whole models to and from Keras: the ``.keras`` format, and Keras 2's ``.h5``.

A ``.keras`` file is a zip of three members::

    config.json         the architecture: the model's class, then each layer's class and arguments
    metadata.json       the Keras version that wrote it (informative)
    model.weights.h5    the weights, as ``keras_weights`` reads and writes them

**Writing** (``save_keras_model``, or ``model.save("m.keras")``): each
minicnn layer's ``get_config()`` already uses Keras's argument names, so
the config is that, with Keras's spellings where they differ (an activation
of ``None`` is ``"linear"``; a regularizer is Keras's serialized object),
and for a functional model each layer's ``inbound_nodes``: the tensors it
was called on, named by the layer that produced them. Initializers are not
written: the weights are in the file.

**Reading** (``load_keras_model``, or ``minicnn.load_model("m.keras")``):
each layer's class must be one minicnn has, and each argument must be one
minicnn takes, or one that Keras writes at a value meaning "as minicnn
does" (``data_format="channels_last"``, ``dilation_rate=(1, 1)``, no
constraint...; see ``IGNORED_AT``). Anything else is a ``ModelFileError``
naming the file, the layer and the argument - never a silently different
model. The config is read with a size cap before anything is built, and the
weights are loaded by ``load_keras_weights`` (every shape checked).

**Keras 2's ``.h5``** (what the seed notebooks' ``model.save("cnn_model.h5")``
wrote, and what ``keras.saving.load_model`` still reads): one HDF5 file whose
``model_config`` attribute holds the same architecture in Keras 2's spelling
(a call's inputs as ``[[name, 0, 0, {}]]``) and whose ``model_weights`` group
holds each layer's arrays, listed by name (``keras_weights`` reads it).

Compile settings and optimizer state are not carried across (Keras's and
minicnn's optimizer files differ); ``compile`` the loaded model.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from .. import layers as layer_module
from .. import regularizers
from ..errors import MiniCNNError, ModelFileError
from .atomic import atomic_write
from .keras_weights import load_keras_weights, save_keras_weights

CONFIG_CAP = 16 * 2**20        # bytes of config.json read at most (MobileNetV2's is about 0.3 MB)

# Arguments Keras writes that minicnn has no use for. Dropped whatever their value: the
# initializers (the weights come from the file) and the dtype (minicnn's floatx).
DROPPED = ("dtype", "shared_object_id", "renorm_momentum")
# Dropped at these values, which mean "as minicnn does"; any other value is refused.
IGNORED_AT = {
    "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activity_regularizer": None,
    "kernel_constraint": None, "bias_constraint": None, "depthwise_constraint": None, "beta_constraint": None,
    "gamma_constraint": None, "beta_regularizer": None, "gamma_regularizer": None, "quantization_config": None,
    "lora_rank": None, "lora_alpha": None, "noise_shape": None, "synchronized": False, "renorm": False,
    "renorm_clipping": None, "sparse": False, "ragged": False,
    "optional": False, "keepdims": False,
}
IGNORED_AT_BY_CLASS = {"BatchNormalization": {"axis": -1, "center": True, "scale": True},
                       "ReLU": {"negative_slope": 0.0, "threshold": 0.0}}
_LAYER_CLASSES = {name: getattr(layer_module, name) for name in layer_module.__all__
                  if isinstance(getattr(layer_module, name), type)}


# ---------------------------------------------------------------------------- writing
def _keras_object(module: str, class_name: str, config: dict) -> dict:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _keras_layer_config(layer) -> tuple[str, dict]:
    """(Keras class name, Keras config) of a minicnn layer."""
    config = dict(layer.get_config())
    for key in [k for k in config if k.endswith("_initializer")]:
        del config[key]
    if "activation" in config and config["activation"] is None:
        config["activation"] = "linear"
    for key in [k for k in config if k.endswith("_regularizer")]:
        regularizer = regularizers.get(config[key], layer.name)
        settings = {k: v for k, v in regularizer.get_config().items() if k != "class_name"}
        config[key] = _keras_object("keras.regularizers", regularizer.get_config()["class_name"], settings)
    if not layer.trainable:
        config["trainable"] = False
    return type(layer).__name__, config


def _tensor(tensor) -> dict:
    """A symbolic tensor as Keras writes it: its shape (batch axis None) and the layer that made it."""
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": "float32", "keras_history": [tensor.layer.name, 0, 0]}}


def keras_config(model) -> dict:
    """The ``config.json`` of ``model`` (a ``Sequential`` or a functional ``Model``)."""
    functional = model.layers[0] is model.input_layer
    input_config = _keras_object("keras.layers", "InputLayer",
                                 {"batch_shape": [None, *model.input_shape], "dtype": "float32",
                                  "name": model.input_layer.name if model.input_layer is not None else "input_layer"})
    if not functional:
        layers = [input_config] + [_keras_object("keras.layers", *_keras_layer_config(layer))
                                   for layer in model.layers]
        return {**_keras_object("keras", "Sequential", {"name": model.name, "trainable": True, "layers": layers}),
                "build_config": {"input_shape": [None, *model.input_shape]}}
    entries = [{**input_config, "name": model.input_layer.name, "inbound_nodes": []}]
    for layer in model.layers[1:]:
        class_name, config = _keras_layer_config(layer)
        tensors = [_tensor(t) for t in layer.inbound]
        entries.append({**_keras_object("keras.layers", class_name, config), "name": layer.name,
                        "inbound_nodes": [{"args": [tensors] if layer.multi_input else tensors, "kwargs": {}}]})
    outputs = [[layer.name, 0, 0] for layer in (model._layers[i] if i >= 0 else model.input_layer
                                                  for i in model._output_indices())]
    config = {"name": model.name, "trainable": True, "layers": entries,
              "input_layers": [model.input_layer.name, 0, 0],
              "output_layers": outputs if model._list_output else outputs[0]}
    return {**_keras_object("keras.src.models.functional", "Functional", config), "registered_name": "Functional"}


def legacy_config(model) -> dict:
    """``keras_config`` in Keras 2's spelling (the ``model_config`` of an ``.h5`` file)."""
    config = keras_config(model)
    body = dict(config["config"])
    layers = []
    for entry in body["layers"]:
        legacy = {"class_name": entry["class_name"], "config": entry["config"]}
        if "inbound_nodes" in entry:
            names = _inbound_names(entry["inbound_nodes"][0]) if entry["inbound_nodes"] else []
            legacy.update(name=entry["name"], inbound_nodes=[[[n, 0, 0, {}] for n in names]] if names else [])
        layers.append(legacy)
    body["layers"] = layers
    if config["class_name"] == "Functional":
        body["input_layers"] = [body["input_layers"]]
        outputs = body["output_layers"]
        body["output_layers"] = outputs if isinstance(outputs[0], list) else [outputs]
    return {"class_name": config["class_name"], "config": body}


def _save_legacy_h5(model, path: Path) -> Path:
    import io

    from .keras_weights import _h5py
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.attrs["model_config"] = json.dumps(legacy_config(model))
        h5.attrs["keras_version"] = "3.0.0"
        h5.attrs["backend"] = "tensorflow"
        weights = h5.create_group("model_weights")
        weights.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        weights.attrs["keras_version"] = "3.0.0"
        weights.attrs["backend"] = "tensorflow"
        for layer in model.layers:
            group = weights.create_group(layer.name)
            names = [f"{layer.name}/{p.name}:0" for p in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, p in zip(names, layer.weights):
                group.create_dataset(name, data=p.value)
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))


def save_keras_model(model, path: str | os.PathLike) -> Path:
    """Write ``model`` as a ``.keras`` (or Keras 2 ``.h5``) file that ``keras.saving.load_model``
    opens (atomically)."""
    import io
    import tempfile

    path = Path(path)
    if path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(f"{path}: a Keras model file's name ends in .keras (or Keras 2's .h5)")
    if not model.built:
        raise ModelFileError(f"model {model.name!r} is not built yet; nothing to save")
    if path.suffix.lower() != ".keras":
        return _save_legacy_h5(model, path)
    if not model.built:
        raise ModelFileError(f"model {model.name!r} is not built yet; nothing to save")
    config = keras_config(model)
    with tempfile.TemporaryDirectory() as scratch:
        weights = save_keras_weights(model, Path(scratch) / "model.weights.h5").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.0.0", "saved_by": "minicnn"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))


# ---------------------------------------------------------------------------- reading
def _minicnn_arguments(path: Path, class_name: str, config: dict) -> dict:
    """A Keras layer config as minicnn constructor arguments (see the module docstring)."""
    defaults = {**IGNORED_AT, **IGNORED_AT_BY_CLASS.get(class_name, {})}
    arguments = {}
    for key, value in config.items():
        if key in DROPPED or key.endswith("_initializer"):
            continue
        if key in defaults:
            same = list(value) == defaults[key] if isinstance(value, (list, tuple)) else value == defaults[key]
            if not same:
                raise ModelFileError(f"{path}: layer {config.get('name')!r} ({class_name}) has {key}={value!r}; "
                                     f"minicnn supports only {defaults[key]!r}")
            continue
        if key.endswith("_regularizer") and isinstance(value, dict):
            value = regularizers.get({"class_name": value.get("class_name"), **(value.get("config") or {})},
                                     f"{path}: layer {config.get('name')!r}")
        if key == "activation" and value == "linear":
            value = None
        arguments[key] = value
    return arguments


def _make_layer(path: Path, entry: dict):
    class_name = entry.get("class_name")
    cls = _LAYER_CLASSES.get(class_name)
    if cls is None or not isinstance(entry.get("config"), dict):
        raise ModelFileError(f"{path}: layer class {class_name!r} is not one minicnn has "
                             f"(it has {sorted(_LAYER_CLASSES)})")
    try:
        return cls(**_minicnn_arguments(path, class_name, entry["config"]))
    except ModelFileError:
        raise
    except (MiniCNNError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: layer {entry['config'].get('name')!r} ({class_name}): {exc}") from None


def _input_shape(path: Path, entry: dict) -> tuple[int, ...]:
    config = entry.get("config") or {}
    shape = config.get("batch_shape") or config.get("batch_input_shape") or []   # Keras 3, Keras 2
    if len(shape) < 2 or not all(isinstance(d, int) and 0 < d <= 2**16 for d in shape[1:]):
        raise ModelFileError(f"{path}: the input layer's batch_shape must be [null, sizes...], got {shape!r}")
    return tuple(shape[1:])


def _inbound_names(node) -> list[str]:
    """The names of the layers whose outputs a call reads: Keras 3 writes
    ``{"args": [tensor or [tensors]], "kwargs": {}}``, Keras 2 ``[[name, 0, 0, {}], ...]``."""
    if isinstance(node, dict):
        args = node.get("args") or []
        sources = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        return [s["config"]["keras_history"][0] for s in sources]
    return [item[0] for item in node]


def keras_model_from_config(path: Path, config: dict):
    """A minicnn model (weights not loaded) from a Keras ``config.json``."""
    from ..model.functional import Model
    from ..model.sequential import Sequential
    from ..layers import Input
    kind, body = config.get("class_name"), config.get("config")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list) or not body["layers"]:
        raise ModelFileError(f"{path}: config.json does not describe a Keras model (no layer list)")
    entries = [dict(e) for e in body["layers"] if isinstance(e, dict)]
    if kind == "Sequential":
        first = entries[0].get("config") or {}
        if entries[0].get("class_name") == "InputLayer":
            stack, entries = [Input(_input_shape(path, entries[0]), name=first.get("name"))], entries[1:]
        elif "batch_input_shape" in first:     # a Keras 2 file: the first layer carries the input shape
            stack = [Input(_input_shape(path, entries[0]))]
            entries[0]["config"] = {k: v for k, v in first.items() if k != "batch_input_shape"}
        else:
            raise ModelFileError(f"{path}: a Sequential model without an input shape")
        stack += [_make_layer(path, entry) for entry in entries]
        return Sequential(stack, name=body.get("name"))
    if kind != "Functional":
        raise ModelFileError(f"{path}: model class {kind!r} is neither Sequential nor Functional")
    tensors: dict[str, object] = {}
    for entry in entries:
        name = entry.get("name")
        if entry.get("class_name") == "InputLayer":
            tensors[name] = Input(_input_shape(path, entry), name=name)
            continue
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) != 1:
            raise ModelFileError(f"{path}: layer {name!r} is called {len(nodes)} times; minicnn calls each layer once")
        try:
            inputs = [tensors[source] for source in _inbound_names(nodes[0])]
        except (KeyError, TypeError, IndexError):
            raise ModelFileError(f"{path}: layer {name!r} reads a tensor no earlier layer made") from None
        layer = _make_layer(path, entry)
        tensors[name] = layer(inputs if layer.multi_input else inputs[0])
    def output_of(spec):
        if not isinstance(spec, list) or not spec or spec[0] not in tensors:
            raise ModelFileError(f"{path}: output {spec!r} names no layer")
        return tensors[spec[0]]
    outputs = body.get("output_layers")
    many = isinstance(outputs, list) and outputs and isinstance(outputs[0], list)
    inputs = body.get("input_layers")
    inputs = inputs[0] if isinstance(inputs, list) and inputs and isinstance(inputs[0], list) else inputs
    if isinstance(outputs, list) and len(outputs) == 1 and isinstance(outputs[0], list) and not body.get("list_output"):
        outputs, many = outputs[0], False      # Keras 2 lists a single output as [[name, 0, 0]]
    return Model(output_of(inputs), [output_of(o) for o in outputs] if many else output_of(outputs),
                 name=body.get("name"))


def _legacy_h5_config(path: Path) -> dict:
    from .keras_weights import _h5py
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as h5:
            text = h5.attrs.get("model_config")
            if text is None:
                raise ModelFileError(f"{path}: no model_config; a weights-only file (load it with "
                                     "minicnn.io.load_keras_weights into the same architecture)")
            if len(text) > CONFIG_CAP:
                raise ModelFileError(f"{path}: model_config holds {len(text)} bytes, more than {CONFIG_CAP}")
            return json.loads(text.decode() if isinstance(text, bytes) else str(text))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises many kinds of errors on a damaged file
        raise ModelFileError(f"{path}: not a readable Keras .h5 file ({type(exc).__name__}: {exc})") from None


def load_keras_model(path: str | os.PathLike):
    """A minicnn model with the architecture and weights of a ``.keras`` or Keras 2 ``.h5`` file
    (see the module docstring)."""
    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        config = _legacy_h5_config(path)
        if not isinstance(config, dict):
            raise ModelFileError(f"{path}: model_config is not a JSON object")
        model = keras_model_from_config(path, config)
        load_keras_weights(model, path)
        return model
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ModelFileError(f"{path}: no config.json; not a .keras model file")
            info = archive.getinfo("config.json")
            if info.file_size > CONFIG_CAP or info.compress_size > path.stat().st_size:
                raise ModelFileError(f"{path}: config.json declares {info.file_size} bytes, more than "
                                     f"{CONFIG_CAP}")
            config = json.loads(archive.read("config.json"))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except ModelFileError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RecursionError) as exc:
        raise ModelFileError(f"{path}: not a readable .keras file ({type(exc).__name__}: {exc})") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: config.json is not a JSON object")
    model = keras_model_from_config(path, config)
    load_keras_weights(model, path)
    return model
