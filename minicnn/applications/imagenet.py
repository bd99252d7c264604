"""ImageNet helpers for MobileNetV2: input scaling and reading the top classes.

``preprocess_input`` maps pixel values 0..255 to -1..1, the range
MobileNetV2's ImageNet weights were trained on (Keras's ``mode="tf"``)::

    x' = x / 127.5 - 1

``decode_predictions`` turns the (N, 1000) class probabilities into each
image's top classes. It needs the class names: the ``imagenet_class_index.json``
file Keras uses (``{"0": ["n01440764", "tench"], ...}``), given by path - minicnn
downloads nothing at run time. Get the file on a machine with internet access
(Keras stores it in ``~/.keras/models/`` after one call of
``keras.applications.mobilenet_v2.decode_predictions``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelFileError


def preprocess_input(x) -> np.ndarray:
    """Pixels in [0, 255] (any shape, channels last) -> float32 in [-1, 1]."""
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise InputError(f"preprocess_input expects numeric pixels, got dtype {x.dtype}")
    return (x.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).astype(np.float32)


def load_class_index(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read Keras's ``imagenet_class_index.json``: ``[(wordnet id, name), ...]`` by class index."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        classes = [(str(raw[str(i)][0]), str(raw[str(i)][1])) for i in range(len(raw))]
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such class-index file") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ModelFileError(f"{path}: not a class-index file like Keras's imagenet_class_index.json "
                             f'({{"0": ["n01440764", "tench"], ...}}): {type(exc).__name__}: {exc}') from None
    if not classes:
        raise ModelFileError(f"{path}: the class-index file is empty")
    return classes


def decode_predictions(preds, top: int = 5, class_index: str | os.PathLike | None = None
                       ) -> list[list[tuple[str, str, float]]]:
    """Each image's ``top`` classes as ``(wordnet id, name, probability)``, best first.

    Parameters
    ----------
    preds : array (N, K)
        Class probabilities, e.g. ``model.predict(x)``.
    class_index : path
        Keras's ``imagenet_class_index.json`` (K entries); required.
    """
    preds = np.asarray(preds)
    if class_index is None:
        raise InputError("decode_predictions needs class_index=PATH to imagenet_class_index.json "
                         "(minicnn does not download it; see minicnn.applications.imagenet)")
    classes = load_class_index(class_index)
    if preds.ndim != 2 or preds.shape[1] != len(classes):
        raise InputError(f"decode_predictions expects predictions of shape (N, {len(classes)}), "
                         f"got {preds.shape}")
    results = []
    for row in preds:
        best = np.argsort(row)[::-1][:top]
        results.append([(classes[i][0], classes[i][1], float(row[i])) for i in best])
    return results
