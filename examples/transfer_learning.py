"""Transfer learning: a frozen MobileNetV2 as a feature extractor under a new head.

    python examples/transfer_learning.py --image-folder flowers.zip [--weights mobilenet_v2.weights.h5]

The classic recipe of every course: take a network trained on a large
dataset, keep its convolutional part as it is (``trainable = False``: its
weights and BatchNorm statistics do not move, and its BatchNorms run in
inference mode), and train only a small new classifier on top, on your own
images - a few hundred are enough when the features are good.

Model: ``MobileNetV2(include_top=False, pooling="avg")`` frozen, then
``Dropout(0.2)`` and ``Dense(classes, softmax)``; Adam 1e-3; pixels scaled
to MobileNetV2's [-1, 1] by ``preprocess_input``.
``--image-folder`` is a folder or zip of class folders with ``train/<class>/``
and ``test/<class>/`` (``minicnn.datasets.load_image_folder``), resized to
``--size`` (96 by default). ``--weights``: a Keras weights file of
``MobileNetV2(include_top=False, alpha=..., input_shape=(size, size, 3))``
(nothing is downloaded; see ``examples/mobilenet_feature_maps.py``). Without
it the base is random - the frozen features are then poor and the script
says so: the example still shows the mechanics (what trains, what does not).

Writes ``OUT/model.minicnn`` and prints how many weights were trained and
that the frozen ones did not change.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import minicnn
from minicnn import datasets, layers
from minicnn.applications import MobileNetV2, preprocess_input


def build(classes: int, size: int, alpha: float, weights: str | None, seed: int) -> tuple[minicnn.Model, minicnn.Model]:
    """(the whole model, its frozen base): the head is called on the base's output tensor, and
    the new model runs from the base's input to the head, as in Keras's transfer-learning guide."""
    base = MobileNetV2(input_shape=(size, size, 3), alpha=alpha, include_top=False, pooling="avg",
                       weights=weights, seed=seed)
    base.trainable = False
    x = layers.Dropout(0.2, name="head_dropout")(base.output)
    outputs = layers.Dense(classes, activation="softmax", name="head")(x)
    return minicnn.Model(base.input, outputs, name="transfer", seed=seed), base


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-folder", required=True, metavar="PATH",
                        help="a folder or zip with train/<class>/ and test/<class>/")
    parser.add_argument("--weights", default=None, help="Keras weights of MobileNetV2(include_top=False)")
    parser.add_argument("--size", type=int, default=96, help="images are resized to SIZE x SIZE")
    parser.add_argument("--alpha", type=float, default=0.35, help="MobileNetV2's width multiplier")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="out/transfer_learning")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.size < 32:
        parser.error("--epochs must be at least 1 and --size at least 32")
    start = time.perf_counter()
    size = (args.size, args.size)
    x, y, names = datasets.load_image_folder(args.image_folder, folder="train", image_size=size, seed=args.seed)
    x_test, y_test, _ = datasets.load_image_folder(args.image_folder, folder="test", image_size=size, shuffle=False)
    model, base = build(len(names), args.size, args.alpha, args.weights, args.seed)
    if args.weights is None:
        print("No --weights: the frozen MobileNetV2 is random, so its features are poor; "
              "this run shows what trains and what does not.", file=sys.stderr)
    model.summary()
    frozen_before = [w.copy() for w in base.get_weights()]
    model.compile(loss="sparse_categorical_crossentropy", optimizer=minicnn.optimizers.Adam(1e-3),
                  metrics=["accuracy"])
    model.fit(preprocess_input(x), y, epochs=args.epochs, batch_size=args.batch_size, validation_split=0.1)
    loss, accuracy = model.evaluate(preprocess_input(x_test), y_test, verbose=0)
    unchanged = all(np.array_equal(a, b) for a, b in zip(frozen_before, base.get_weights()))
    trained = sum(p.value.size for p in model.trainable_weights)
    print(f"\nTest accuracy: {accuracy:.4f} on {len(x_test)} images ({time.perf_counter() - start:.0f} s in all). "
          f"Trained {trained:,} weights of {model.count_params():,}; the frozen base's "
          f"{sum(w.size for w in frozen_before):,} weights and statistics "
          f"{'did not change' if unchanged else 'CHANGED'}.")
    from pathlib import Path
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.minicnn")
    print(f"Model written to {out}/")
    return {"test_accuracy": float(accuracy), "frozen_unchanged": unchanged, "trained_weights": trained}


if __name__ == "__main__":
    main()
