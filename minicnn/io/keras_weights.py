"""Weights to and from Keras: ``.weights.h5``, ``.keras`` and legacy ``.h5`` files.

minicnn keeps each layer's weights in Keras's order and layout (kernels
``(kh, kw, in, out)``, BatchNorm's gamma, beta, moving mean, moving variance),
so carrying weights across is a matter of finding, for each minicnn layer,
its arrays in the file - and checking every shape.

**Keras 3 files** (``model.save_weights("m.weights.h5")``; ``model.save("m.keras")``
is a zip holding the same ``model.weights.h5``) store each layer under a path
made from its *class* name, not its user-given name::

    layers/conv2d/vars/0        kernel of the first Conv2D
    layers/conv2d/vars/1        its bias
    layers/conv2d_1/vars/0      kernel of the second Conv2D
    layers/batch_normalization/vars/0..3
    layers/leaky_re_lu/vars     (empty: no weights)

The class name becomes snake_case (``LeakyReLU`` -> ``leaky_re_lu``) and the
n-th layer of a class (from 0) gets the suffix ``_n`` (none for n = 0). So a
minicnn layer finds its group by its class and its rank among the layers of
that class: this is "matching by layer order", and the shapes are checked.

**Legacy files** (Keras 2's ``.h5``, and what ``keras.applications`` ships)
list the layers in order in a ``layer_names`` attribute and each layer's
arrays in ``weight_names``. When the file has exactly the model's layer
names, layers are matched by name; otherwise in order, layers without
weights skipped.

h5py is needed (``pip install h5py``, or ``pip install "minicnn[keras]"``);
it is imported only when these functions are called.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from ..errors import KerasWeightsError, MiniCNNError, ModelFileError
from .atomic import atomic_write


def _h5py():
    try:
        import h5py
    except ImportError:
        raise MiniCNNError("reading or writing Keras weight files needs h5py: "
                           "pip install h5py (or pip install \"minicnn[keras]\")") from None
    return h5py


def keras_snake_case(class_name: str) -> str:
    """Keras's rule for a class name in a weights file: ``BatchNormalization`` ->
    ``batch_normalization``, ``Conv2D`` -> ``conv2d``, ``LeakyReLU`` -> ``leaky_re_lu``."""
    # Split before a capital that starts a lowercase run ("yR|eLU" -> "y_ReLU"),
    # then between a lowercase letter and a capital ("Re|LU" -> "Re_LU").
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def keras_paths(model) -> list[str]:
    """The group of each layer of ``model`` in a Keras 3 weights file (see above)."""
    seen: dict[str, int] = {}
    paths = []
    for layer in model.layers:
        base = keras_snake_case(getattr(layer, "keras_class_name", type(layer).__name__))
        n = seen.get(base, -1) + 1
        seen[base] = n
        paths.append(f"layers/{base}" + (f"_{n}" if n else ""))
    return paths


def _open(path: Path, cap: int):
    """An open h5py File for a ``.weights.h5``/``.h5`` path, or the weights inside a ``.keras``
    zip (whose declared size may not pass ``cap`` bytes: a zip is never read past it)."""
    h5py = _h5py()
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                if "model.weights.h5" not in z.namelist():
                    raise ModelFileError(f"{path}: a zip without model.weights.h5; not a .keras file")
                info = z.getinfo("model.weights.h5")
                if info.file_size > cap:
                    raise ModelFileError(f"{path}: model.weights.h5 declares {info.file_size} bytes, more "
                                         f"than the {cap} this model's weights could take")
                if info.compress_size > path.stat().st_size:  # zipfile would allocate the claimed size
                    raise ModelFileError(f"{path}: model.weights.h5 claims {info.compress_size} stored bytes "
                                         f"in a file of {path.stat().st_size}; the file is damaged")
                return h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except ModelFileError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: zipfile's word for a member needing a newer zip version
        raise ModelFileError(f"{path}: not a readable Keras weights file ({type(exc).__name__}: {exc})") from None


def _arrays_keras3(path: Path, f, model) -> list[list[np.ndarray]]:
    found, paths = [], keras_paths(model)
    for layer, group in zip(model.layers, paths):
        n = len(layer.weights)
        vars_group = f.get(f"{group}/vars")
        if vars_group is None:
            if n:
                raise ModelFileError(f"{path}: no weights for layer {layer.name!r} "
                                     f"({type(layer).__name__}, looked for {group}/vars); the file "
                                     f"holds {sorted(f['layers'].keys())}")
            found.append([])
            continue
        if len(vars_group) != n:
            raise ModelFileError(f"{path}: {group} holds {len(vars_group)} arrays, layer {layer.name!r} "
                                 f"({type(layer).__name__}) has {n}")
        found.append([vars_group[str(i)] for i in range(n)])   # datasets: read once their shapes are checked
    unused = [g for g in f["layers"] if f"layers/{g}" not in paths and len(f[f"layers/{g}"].get("vars", {}))]
    if unused:
        raise ModelFileError(f"{path}: the file has weights for {unused}, which match no layer of "
                             f"model {model.name!r}")
    return found


def _names(attr) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in np.asarray(attr).ravel()]


def _arrays_legacy(path: Path, f, model) -> list[list[np.ndarray]]:
    root = f["model_weights"] if "model_weights" in f else f
    with_weights = [(name, _names(root[name].attrs.get("weight_names", [])))
                    for name in _names(root.attrs["layer_names"])]
    with_weights = dict((name, weights) for name, weights in with_weights if weights)
    ours = [layer for layer in model.layers if layer.weights]
    if all(layer.name in with_weights for layer in ours) and len(ours) == len(with_weights):
        # Every layer name is in the file (a model built with Keras's names, such as
        # minicnn.applications.MobileNetV2): match by name, the strongest check.
        by_layer = {layer.name: layer.name for layer in ours}
    elif len(with_weights) == len(ours):
        by_layer = {layer.name: name for layer, name in zip(ours, with_weights)}  # by order
    else:
        raise ModelFileError(f"{path}: the file has {len(with_weights)} layers with weights "
                             f"({list(with_weights)}), model {model.name!r} has {len(ours)} "
                             f"({[layer.name for layer in ours]})")
    return [[root[by_layer[layer.name]][w] for w in with_weights[by_layer[layer.name]]]
            if layer.weights else [] for layer in model.layers]


def load_keras_weights(model, path: str | os.PathLike) -> None:
    """Copy the weights of a Keras file into the equivalent minicnn ``model``.

    Raises
    ------
    ModelFileError
        Unreadable file, a layer missing in the file, an array of the wrong
        shape, or weights in the file that fit no layer of ``model``.
    """
    path = Path(path)
    if not model.built:
        raise ModelFileError(f"model {model.name!r} must be built before loading weights into it")
    cap = 2 * sum(p.value.nbytes for p in model.weights) + 16 * 2**20
    try:
        with _open(path, cap) as f:
            if "layers" in f:
                per_layer = _arrays_keras3(path, f, model)
            elif "layer_names" in f.attrs or ("model_weights" in f and "layer_names" in f["model_weights"].attrs):
                per_layer = _arrays_legacy(path, f, model)
            else:
                raise KerasWeightsError(f"{path}: neither a Keras 3 weights file (no 'layers' group) nor a "
                                        "legacy one (no 'layer_names')")
            # every dataset's shape and type is checked from its header before any is read
            for layer, datasets in zip(model.layers, per_layer):
                for p, ds in zip(layer.weights, datasets):
                    shape, dtype = getattr(ds, "shape", None), getattr(ds, "dtype", None)
                    if shape != p.value.shape or dtype is None or dtype.kind not in "fiu":
                        raise KerasWeightsError(f"{path}: layer {layer.name!r} ({type(layer).__name__}) weight "
                                                f"{p.name!r} has shape {p.value.shape}; the file's array is "
                                                f"{dtype} {shape}")
            values = [[np.asarray(ds[()]) for ds in datasets] for datasets in per_layer]
    except ModelFileError as exc:
        if isinstance(exc, KerasWeightsError):
            raise
        raise KerasWeightsError(str(exc)) from None
    except MiniCNNError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py and zlib raise many kinds of errors on a damaged file
        raise KerasWeightsError(f"{path}: not a readable Keras weights file for model {model.name!r} "
                                f"({type(exc).__name__}: {exc})") from None
    for layer, arrays in zip(model.layers, values):
        for p, value in zip(layer.weights, arrays):
            if not np.isfinite(value).all():
                raise KerasWeightsError(f"{path}: layer {layer.name!r} weight {p.name!r} holds NaN or Inf")
    for layer, arrays in zip(model.layers, values):
        for p, value in zip(layer.weights, arrays):
            p.value[...] = value
        if arrays and hasattr(layer, "adapted"):
            layer.adapted = True


def save_keras_weights(model, path: str | os.PathLike) -> Path:
    """Write ``model``'s weights as a Keras 3 ``.weights.h5`` file (atomically),
    for ``keras_model.load_weights(path)`` on the equivalent Keras model."""
    h5py = _h5py()
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise ModelFileError(f"{path}: Keras reads weights only from a name ending in .weights.h5")

    buffer = io.BytesIO()  # h5py builds the file in memory; atomic_write then moves it into place
    with h5py.File(buffer, "w") as h5:
        for layer, group in zip(model.layers, keras_paths(model)):
            vars_group = h5.create_group(f"{group}/vars")
            vars_group.attrs["name"] = layer.name
            for i, p in enumerate(layer.weights):
                vars_group.create_dataset(str(i), data=p.value)
        h5.create_group("vars").attrs["name"] = model.name
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))
