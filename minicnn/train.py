"""Train a seed model on a dataset: the code behind ``minicnn train`` and the examples.

    minicnn train --dataset mnist --model kconv --data-dir ../shared/data
    python examples/mnist_cnn.py --data-dir ../shared/data        (the same run)

A *recipe* is the seed notebook's choice of model, optimizer, loss, epochs
and batch size. ``run`` loads the data (scaled to [0, 1]), builds and
summarises the model, trains it with the Keras-style progress line, reports
the test accuracy, and writes into ``out``: the model (``model.minicnn``), the
training curves (``training_curves.png``) and the figures (``results.json``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import datasets, optimizers, schedules, zoo
from .callbacks import Callback, CSVLogger, ModelCheckpoint
from .datasets import scale_images, to_one_hot


@dataclass(frozen=True)
class Recipe:
    build: Callable
    #: the optimizer, given the number of training steps (which a schedule spans)
    optimizer: Callable[[int], optimizers.Optimizer]
    loss: str
    epochs: int
    batch_size: int = 32
    validation_split: float = 0.0


#: The strong recipe's weight decay (AdamW's, times the rate: about 2 in all over a run).
STRONG_WEIGHT_DECAY = 0.05


def strong_schedule(steps: int) -> dict:
    """The strong recipe's ``CosineDecay`` arguments for a run of ``steps`` updates: the rate
    warmed up from 0 to 2e-3 over the first 5% of the steps, then cosine-decayed to 0. (Keras's
    ``CosineDecay`` takes the same arguments: ``bench_fit.py`` builds its twin from them.)"""
    warmup = max(1, steps // 20)
    return {"initial_learning_rate": 0.0, "decay_steps": max(1, steps - warmup), "warmup_target": 2e-3,
            "warmup_steps": warmup}


def strong_optimizer(steps: int) -> optimizers.Optimizer:
    """AdamW on ``strong_schedule(steps)`` with weight decay ``STRONG_WEIGHT_DECAY``."""
    return optimizers.AdamW(schedules.CosineDecay(**strong_schedule(steps)), weight_decay=STRONG_WEIGHT_DECAY)


RECIPES = {
    # The seed MLP: SGD with learning rate 0.05, 10 epochs.
    "mlp": Recipe(zoo.mnist_mlp, lambda steps: optimizers.SGD(0.05), "sparse_categorical_crossentropy", 10),
    # The seed kconv CNN: Adam with Keras's defaults, 5 epochs.
    "kconv": Recipe(zoo.mnist_cnn, lambda steps: optimizers.Adam(), "sparse_categorical_crossentropy", 5),
    # The seed CNN_Classifier: Adam 5e-4, one-hot labels, 10% held out for validation.
    "cifar_cnn": Recipe(zoo.cifar10_cnn, lambda steps: optimizers.Adam(5e-4), "categorical_crossentropy", 10,
                        validation_split=0.1),
    # The strong CIFAR-10 recipe: the seed model widened and augmented (zoo.cifar10_cnn_strong),
    # AdamW with warmup and cosine decay, batch 64, all 50,000 training images.
    "cifar_strong": Recipe(zoo.cifar10_cnn_strong, strong_optimizer, "categorical_crossentropy", 22,
                           batch_size=64),
}

LOADERS = {
    "mnist": (datasets.load_mnist, datasets.MNIST_CLASSES),
    "fashion_mnist": (datasets.load_fashion_mnist, datasets.FASHION_CLASSES),
    "cifar10": (datasets.load_cifar10, datasets.CIFAR10_CLASSES),
    "shapes": (lambda data_dir=None: datasets.load_shapes(), datasets.SHAPES_CLASSES),
}


def load(dataset: str, data_dir=None, limit: int | None = None, image_folder=None, seed: int = 0):
    """The dataset scaled to [0, 1] float32, and its class names.

    ``image_folder``: a folder or zip with ``train/<class>/`` and ``test/<class>/``
    (``datasets.load_image_folder``) instead of the dataset's official files;
    the training images are shuffled with ``seed`` (a class-sorted folder would
    hand ``validation_split`` a single class).
    """
    if image_folder is not None:
        x_train, y_train, class_names = datasets.load_image_folder(image_folder, folder="train", seed=seed)
        x_test, y_test, test_names = datasets.load_image_folder(image_folder, folder="test", shuffle=False)
        if test_names != class_names:
            from .errors import DatasetError
            raise DatasetError(f"{image_folder}: train/ has classes {class_names}, test/ has {test_names}")
    else:
        loader, class_names = LOADERS[dataset]
        (x_train, y_train), (x_test, y_test) = loader(data_dir=data_dir)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return (scale_images(x_train), y_train), (scale_images(x_test), y_test), class_names


def run(dataset: str, model_name: str, epochs: int | None = None, limit: int | None = None,
        data_dir=None, out: str | os.PathLike = "out", batch_size: int | None = None,
        seed: int = 0, verbose: int = 1, model=None, resume: str | os.PathLike | None = None,
        image_folder: str | os.PathLike | None = None) -> dict:
    """Train ``model_name``'s recipe on ``dataset``; returns (and saves) the results.

    After every epoch the whole training state is checkpointed to
    ``out/checkpoint.minicnn`` and a row is appended to ``out/training_log.csv``.
    ``resume=PATH`` continues from such a checkpoint: weights, optimizer state,
    random generators and the epoch count come from the file, so the resumed
    run ends on the same weights, bit for bit, as one that was never stopped.
    """
    recipe = RECIPES[model_name]
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test), class_names = load(dataset, data_dir, limit, image_folder, seed)
    if resume is not None:
        from .io import load_model
        model = load_model(resume)
        if verbose:
            print(f"Resuming from {resume}: {model.completed_epochs} epoch(s) done")
    elif model is None:
        shape = x_train.shape[1:]
        extra = {"num_classes": len(class_names)} if "num_classes" in inspect.signature(recipe.build).parameters \
            else {}
        model = recipe.build(input_shape=shape[:2] if model_name == "mlp" and shape[-1] == 1 else shape,
                             seed=seed, **extra)
    if model_name == "mlp":  # the MLP takes (28, 28) digits, without the channel axis
        x_train, x_test = x_train.reshape(len(x_train), *model.input_shape), \
            x_test.reshape(len(x_test), *model.input_shape)
    one_hot = recipe.loss == "categorical_crossentropy"
    y_fit = to_one_hot(y_train, len(class_names)) if one_hot else y_train
    y_eval = to_one_hot(y_test, len(class_names)) if one_hot else y_test
    if verbose:
        model.summary()
    epochs = epochs or recipe.epochs
    batch_size = batch_size or recipe.batch_size
    model.data_info = {"dataset": "image_folder" if image_folder is not None else dataset,
                       "class_names": list(class_names),
                       "image_folder": str(Path(image_folder).resolve()) if image_folder is not None else None}
    if not model.compiled:
        steps = epochs * -(-int(len(x_train) * (1 - recipe.validation_split)) // batch_size)
        model.compile(loss=recipe.loss, optimizer=recipe.optimizer(steps), metrics=["accuracy"])
    epoch_times: list[float] = []

    class _Timer(Callback):  # records wall time per epoch
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()
        def on_epoch_end(self, epoch, logs=None):
            epoch_times.append(time.perf_counter() - self.t)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = [ModelCheckpoint(out / "checkpoint.minicnn"),
                   CSVLogger(out / "training_log.csv", append=resume is not None)]
    history = model.fit(x_train, y_fit, epochs=epochs,
                        batch_size=batch_size, initial_epoch=model.completed_epochs,
                        validation_split=recipe.validation_split, verbose=verbose,
                        callbacks=[_Timer(), *checkpoints])
    if verbose:
        print(f"Evaluating on the {len(x_test)} test images:")
    test_loss, test_accuracy = model.evaluate(x_test, y_eval, verbose=verbose)
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    curves = {k: list(v) for k, v in history.history.items()}   # a resumed fit carries the earlier epochs
    results = {"dataset": dataset, "model": model_name, "epochs": model.completed_epochs,
               "resumed_from": str(resume) if resume is not None else None,
               "train_samples": int(len(x_train)), "test_samples": int(len(x_test)),
               "test_accuracy": float(test_accuracy), "test_loss": float(test_loss),
               "epoch_seconds": [round(t, 2) for t in epoch_times],
               "wall_seconds": round(time.perf_counter() - start, 2), "history": curves, **run_record()}
    print(f"\nTest accuracy: {test_accuracy:.4f}   test loss: {test_loss:.4f}   "
          f"({len(x_test)} test images, {results['wall_seconds']:.0f} s in all)")
    model.save(out / "model.minicnn")
    if curves:
        _plot_curves(curves, out / "training_curves.png")
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"Model, curves and results written to {out}/")
    results.update(model=model, x_test=x_test, y_test=y_test, predicted=predicted,
                   class_names=class_names)
    return results


def run_record() -> dict:
    """What a result file records beside its numbers: the command, the date and the machine
    (``minicnn.bench.machine``: CPU model, vector extensions, BLAS and its sgemm rate)."""
    import shlex
    import sys

    from .bench import machine
    argv = [Path(sys.argv[0]).as_posix() if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    if argv[0].endswith("__main__.py"):       # python -m minicnn
        argv[0] = "minicnn"
    elif argv[0].endswith(".py"):
        argv.insert(0, "python")
    return {"command": shlex.join(argv), "when": time.strftime("%Y-%m-%d"), "machine": machine.describe(quick=True)}


def _plot_curves(history: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")  # the training driver writes files; it never opens a window
    import matplotlib.pyplot as plt

    from .viz import training_curves
    fig = training_curves(history)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (``--epochs 0`` or ``--limit 0`` is refused,
    not taken as "the default" or "everything")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser, default_out: str) -> None:
    """The options every example and ``minicnn train`` share."""
    parser.add_argument("--epochs", type=_positive, default=None, help="default: the seed's")
    parser.add_argument("--limit", type=_positive, default=None, help="use only the first N training images")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding mnist/ (or cifar10/ ...); default: $MINICNN_DATA, then the cache")
    parser.add_argument("--out", default=default_out, help="folder for the model, curves and results")
    parser.add_argument("--image-folder", default=None, metavar="PATH",
                        help="a folder or zip of class folders, train/<class>/ and test/<class>/, "
                             "instead of the official files")
    parser.add_argument("--batch-size", type=_positive, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", default=None, metavar="PATH",
                        help="continue from a checkpoint (OUT/checkpoint.minicnn is written after every epoch)")
