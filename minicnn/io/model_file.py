"""Model files: the architecture as JSON and the weights as plain arrays, no pickle.

A ``.minicnn`` file is a NumPy ``.npz`` archive (a zip) holding

* ``config``  - one JSON string: the format name and version, the model's
  name, its input shape, every layer as ``{"class_name", "config"}`` in order,
  and a manifest of the weight arrays (layer, weight name, shape);
* ``w0000``, ``w0001``, ... - the weights, in ``get_weights()`` order
  (BatchNorm's moving statistics included);
* optionally ``compile`` - the loss and optimizer settings as JSON.

Loading uses ``allow_pickle=False``: a file can hold only numbers and text,
and a layer class is looked up by name in minicnn's own list - nothing in the
file is ever imported or executed.

Writing is atomic: the archive is written to a temporary file next to the
target, flushed to disk (``fsync``) and renamed over it, so a crash leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .. import layers as layer_module
from .. import losses, optimizers
from ..errors import MiniCNNError, ModelFileError

FORMAT = "minicnn-model"
FORMAT_VERSION = 1

_LAYER_CLASSES = {cls.__name__: cls for cls in vars(layer_module).values()
                  if isinstance(cls, type) and issubclass(cls, layer_module.Layer)}


def save_model(model, path: str | os.PathLike, include_compile: bool = True) -> Path:
    """Write ``model`` to ``path`` atomically (see the module docstring)."""
    if not model.built:
        raise ModelFileError(f"model {model.name!r} is not built yet; nothing to save")
    path = Path(path)
    layers = [{"class_name": "InputLayer", "config": model.input_layer.get_config()}] \
        if model.input_layer is not None else []
    layers += [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in model.layers]
    manifest, arrays = [], {}
    for layer in model.layers:
        for p in layer.weights:
            key = f"w{len(manifest):04d}"
            manifest.append({"key": key, "layer": layer.name, "name": p.name, "shape": list(p.value.shape)})
            arrays[key] = p.value
    config = {"format": FORMAT, "version": FORMAT_VERSION, "name": model.name, "seed": model.seed,
              "input_shape": list(model.input_shape), "dtype": str(model.dtype), "layers": layers,
              "weights": manifest}
    arrays["config"] = np.array(json.dumps(config))
    if include_compile and model.compiled:
        arrays["compile"] = np.array(json.dumps({"loss": model.loss.get_config(),
                                                 "optimizer": model.optimizer.get_config(),
                                                 "metrics": model.metrics}))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, zipfile.LargeZipFile) as exc:
        raise ModelFileError(f"{path}: not a readable minicnn model file (truncated or corrupt: "
                             f"{type(exc).__name__}: {exc})") from None


def load_model(path: str | os.PathLike, compile: bool = True):
    """Rebuild a model saved with ``model.save`` (architecture, weights, compile settings)."""
    from ..model.sequential import Sequential

    path = Path(path)
    arrays = _read(path)
    try:
        config = json.loads(str(arrays.pop("config")))
    except KeyError:
        raise ModelFileError(f"{path}: no 'config' entry; not a minicnn model file") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the config entry is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a minicnn model file (format {config.get('format') if isinstance(config, dict) else None!r})")
    if config.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: format version {config.get('version')!r}; this minicnn reads "
                             f"version {FORMAT_VERSION}")
    try:
        built = []
        for entry in config["layers"]:
            cls = _LAYER_CLASSES.get(entry["class_name"])
            if cls is None:
                raise ModelFileError(f"{path}: unknown layer class {entry['class_name']!r}")
            built.append(cls(**entry["config"]))
        model = Sequential(built, name=config["name"], seed=config.get("seed"))
        if not model.built:
            model.build(tuple(config["input_shape"]))
        manifest = config["weights"]
    except ModelFileError:
        raise
    except (KeyError, TypeError, MiniCNNError) as exc:
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt ({type(exc).__name__}: {exc})") from None
    compile_config = arrays.pop("compile", None)
    expected = [(layer.name, p) for layer in model.layers for p in layer.weights]
    keys = {m["key"] for m in manifest}
    missing, extra = keys - set(arrays), set(arrays) - keys
    if missing or extra or len(manifest) != len(expected):
        raise ModelFileError(f"{path}: weight arrays do not match the architecture (missing "
                             f"{sorted(missing)}, unexpected {sorted(extra)}, {len(manifest)} listed, "
                             f"{len(expected)} needed)")
    for m, (layer_name, p) in zip(manifest, expected):
        value = arrays[m["key"]]
        if m["layer"] != layer_name or m["name"] != p.name or value.shape != p.value.shape \
                or not np.issubdtype(value.dtype, np.number):
            raise ModelFileError(f"{path}: array {m['key']} is {m['layer']}.{m['name']} {value.shape} "
                                 f"{value.dtype}, expected {layer_name}.{p.name} {p.value.shape}")
        p.value[...] = value
    for layer in model.layers:
        if hasattr(layer, "adapted"):
            layer.adapted = True
    if compile and compile_config is not None:
        try:
            settings = json.loads(str(compile_config))
            loss = losses.from_config(settings["loss"])
            opt = optimizers.from_config(settings["optimizer"])
        except (json.JSONDecodeError, KeyError, TypeError, MiniCNNError) as exc:
            raise ModelFileError(f"{path}: the compile settings cannot be read ({exc})") from None
        model.compile(loss=loss, optimizer=opt, metrics=settings.get("metrics") or None)
    return model
