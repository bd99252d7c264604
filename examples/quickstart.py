"""Train a small CNN on the built-in shapes dataset, then look inside it.

    python examples/quickstart.py                 # offline, ~30 s on 2 cores
    python examples/quickstart.py --epochs 1 --limit 256 --out /tmp/qs

Prints the model summary, the Keras-style progress of ``fit``, the test
accuracy and the confusion matrix, and writes into ``--out``:

* ``model.minicnn``          the trained model (``minicnn.load_model``), for
                             ``examples/visualize_layers.py``
* ``weights.npz``            the trained weights (``model.get_weights()`` order)
* ``results.json``           test accuracy, curves, times, the command and the machine
* ``training_curves.png``    loss and accuracy per epoch, train and validation
* ``conv1_filters.png``      the 8 learned 3x3 filters of the first layer
* ``conv1_feature_maps.png`` what those filters see in one test image
* ``conv2_feature_maps.png`` the 16 maps of the second convolution

The figures come from ``minicnn.viz``; ``examples/visualize_layers.py`` draws
many more from the saved model.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import matplotlib

matplotlib.use("Agg")  # write files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minicnn  # noqa: E402
from minicnn import layers, viz  # noqa: E402
from minicnn.datasets import SHAPES_CLASSES, load_shapes, scale_images  # noqa: E402
from minicnn.train import run_record  # noqa: E402


def build_model(seed: int = 0) -> minicnn.Sequential:
    return minicnn.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        layers.MaxPool2D(name="pool1"),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
        layers.MaxPool2D(name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(64, activation="relu", name="dense"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ], name="quickstart", seed=seed)


def print_confusion_matrix(cm: np.ndarray, names) -> None:
    print("\nConfusion matrix (rows: true class, columns: predicted class)")
    print(" " * 22 + "".join(f"{i:>5}" for i in range(len(names))))
    for i, row in enumerate(cm):
        print(f"{i:>2} {names[i]:<19}" + "".join(f"{v:>5}" for v in row))


def save(fig, path: str) -> None:
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--data-dir", default=None, help="unused: the shapes are generated, not read")
    parser.add_argument("--out", default="out/quickstart", help="folder for the figures and weights")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()

    (x_train, y_train), (x_test, y_test) = load_shapes(n=6000, seed=args.seed)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    x_train, x_test = scale_images(x_train), scale_images(x_test)

    model = build_model(args.seed)
    model.summary()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=minicnn.optimizers.Adam(learning_rate=0.003), metrics=["accuracy"])
    epoch_start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, validation_split=0.1)
    fit_seconds = time.perf_counter() - epoch_start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nTest accuracy: {accuracy:.4f}   test loss: {loss:.4f}   "
          f"({len(x_test)} images, wall time {time.perf_counter() - start:.1f} s)")
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    print_confusion_matrix(viz.confusion_counts(y_test, predicted, 10), SHAPES_CLASSES)

    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "model.minicnn"))
    np.savez(os.path.join(args.out, "weights.npz"), *model.get_weights())
    save(viz.training_curves(history), os.path.join(args.out, "training_curves.png"))
    save(viz.filters(model, "conv1"), os.path.join(args.out, "conv1_filters.png"))
    for name in ("conv1", "conv2"):
        save(viz.feature_maps(model, x_test[0], name),
             os.path.join(args.out, f"{name}_feature_maps.png"))
    results = {"dataset": "shapes", "model": "quickstart", "epochs": args.epochs, "test_accuracy": float(accuracy),
               "test_loss": float(loss), "epoch_seconds": [round(fit_seconds / max(args.epochs, 1), 2)],
               "wall_seconds": round(time.perf_counter() - start, 2),
               "history": {k: [float(v) for v in vs] for k, vs in history.history.items()}, **run_record()}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"Model and figures written to {args.out}/ "
          f"(more views: python examples/visualize_layers.py --model {args.out}/model.minicnn)")
    return accuracy


if __name__ == "__main__":
    main()
