"""``fit`` on real CIFAR-10 images: minicnn's and Keras's, each in its own process.

    python benchmarks/bench_fit.py --images ../shared/data/cifar10-jpeg/cifar10-jpeg.zip
    python benchmarks/bench_fit.py --images PATH --epochs 1 --limit 5000     # a shorter run
    python benchmarks/bench_fit.py --images PATH --recipe strong --engines keras

``--recipe seed`` (the default) is the seed notebook's CIFAR-10 recipe:
CNN_Classifier (``zoo.cifar10_cnn``), Adam 5e-4, batch 32,
``validation_split=0.1``, the data shuffled first. ``--recipe strong`` is
``minicnn.train``'s ``cifar_strong`` (``zoo.cifar10_cnn_strong`` with its
flips and shifts, AdamW 0.05 with warmup + cosine decay from 2e-3, batch 64,
all training images, 22 epochs unless ``--epochs`` says otherwise); Keras runs
the same layers (``keras.layers.RandomFlip``, ``RandomTranslation``) and the
same optimizer and schedule (``keras.optimizers.AdamW``, ``CosineDecay``). On
the training images of a CIFAR-10 class-folder copy (``load_image_folder``,
``folder="train"``) scaled to [0, 1]. Each engine loads the images itself,
starts from the same initial weights (Keras's are copied from minicnn's),
and times ``fit`` alone (the load is timed apart); the test accuracy on
``folder="test"`` is reported after the last epoch. The engines run one
after the other, each in a fresh process without the machine's BLAS
overrides (see ``minicnn/bench/machine.py``). Writes ``results/fit.{json,md}``
(``results/strong_recipe/fit.{json,md}`` for the strong recipe).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import json, sys, time
import numpy as np
from minicnn.datasets import load_image_folder
from minicnn.bench import machine, peers
import minicnn
from minicnn import zoo
engine, path, epochs, limit, recipe = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
start = time.perf_counter()
x, y, _ = load_image_folder(path, folder="train", seed=0, verbose=False)
x_test, y_test, _ = load_image_folder(path, folder="test", shuffle=False, verbose=False)
if limit:
    x, y = x[:limit], y[:limit]
x, x_test = x.astype(np.float32) / 255, x_test.astype(np.float32) / 255
loaded = time.perf_counter() - start
if recipe == "seed":
    model, batch, split = zoo.cifar10_cnn(seed=0), 32, 0.1
    optimizer = minicnn.optimizers.Adam(5e-4)
else:
    from minicnn.train import STRONG_WEIGHT_DECAY, strong_optimizer, strong_schedule
    model, batch, split = zoo.cifar10_cnn_strong(seed=0), 64, 0.0
    steps = epochs * -(-len(x) // batch)
    optimizer = strong_optimizer(steps)
model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
if engine == "keras":
    import keras
    model = peers.keras_model(model)
    if recipe == "seed":
        optimizer = keras.optimizers.Adam(5e-4)
    else:
        optimizer = keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(**strong_schedule(steps)),
                                           weight_decay=STRONG_WEIGHT_DECAY)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
start = time.perf_counter()
history = model.fit(x, y, batch_size=batch, epochs=epochs, validation_split=split, shuffle=True, verbose=2)
fit_s = time.perf_counter() - start
test = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
h = history.history
print(json.dumps({"engine": engine, "recipe": recipe, "load_s": loaded, "fit_s": fit_s, "epochs": epochs,
                  "train_images": len(x), "accuracy": [float(v) for v in h["accuracy"]],
                  "val_accuracy": [float(v) for v in h.get("val_accuracy", [])], "test_accuracy": float(test[1]),
                  "machine": machine.describe() if engine == "minicnn" else None}))
"""


def report(results: dict, recipe: str) -> str:
    """The Markdown page of one run (``results`` as written to fit.json)."""
    from minicnn.bench import machine
    runs = results["runs"]
    held_out = " (10% held out)" if recipe == "seed" else ""
    lines = [f"# CIFAR-10 `fit` on real images, {recipe} recipe ({results['when']})", "",
             f"Machine: {machine.headline(results['machine'])}  ", f"Command: `{results['command']}`  ",
             f"Versions: {results['versions']}", "",
             "| engine | train images | epochs | fit (s) | per epoch (s) | accuracy per epoch (training; validation) "
             "| test accuracy |", "|---|---|---|---|---|---|---|"]
    for engine, r in runs.items():
        per_epoch = ", ".join(f"{100 * v:.1f}" for v in r["accuracy"])
        if r["val_accuracy"]:
            per_epoch += "; " + ", ".join(f"{100 * v:.1f}" for v in r["val_accuracy"])
        lines.append(f"| {engine} | {r['train_images']}{held_out} | {r['epochs']} | {r['fit_s']:.1f} | "
                     f"{r['fit_s'] / r['epochs']:.1f} | {per_epoch} | {100 * r['test_accuracy']:.1f}% |")
    if "keras" in runs and "minicnn" in runs:
        lines += ["", f"minicnn / Keras, fit time: **{runs['minicnn']['fit_s'] / runs['keras']['fit_s']:.2f}**"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", required=True,
                        help="a CIFAR-10 class-folder copy (folder or zip) with train/ and test/")
    parser.add_argument("--recipe", choices=["seed", "strong"], default="seed")
    parser.add_argument("--epochs", type=int, default=None, help="default: 1 (seed), 22 (strong)")
    parser.add_argument("--limit", type=int, default=0, help="train on the first N shuffled images only")
    parser.add_argument("--engines", nargs="+", default=["minicnn", "keras"], choices=["minicnn", "keras"])
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.recipe == "seed" else 22
    from minicnn.bench import machine, peers
    env = machine.clean_env()
    engines = [e for e in args.engines if e == "minicnn" or peers.keras_available()]
    runs = {}
    for engine in engines:
        done = subprocess.run([sys.executable, "-c", CHILD, engine, str(Path(args.images).resolve()),
                               str(args.epochs), str(args.limit), args.recipe], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{engine} failed:\n{done.stderr[-3000:]}")
        runs[engine] = json.loads(done.stdout.strip().splitlines()[-1])
        print(engine, runs[engine], flush=True)
    # The machine as the timed children saw it (without the BLAS overrides this process may have).
    seen = runs.get("minicnn", {}).get("machine") or machine.describe()
    results = {"when": time.strftime("%Y-%m-%d"), "machine": seen,
               "command": "python benchmarks/bench_fit.py --images PATH" + f" --recipe {args.recipe}" +
               f" --epochs {args.epochs}" + (f" --limit {args.limit}" if args.limit else "") +
               f" --engines {' '.join(engines)}",
               "versions": peers.versions(), "runs": runs}
    out = Path(args.out) / ("" if args.recipe == "seed" else "strong_recipe")
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.json").write_text(json.dumps(results, indent=1))
    page = report(results, args.recipe)
    (out / "fit.md").write_text(page)
    print(page, end="")
    return results


if __name__ == "__main__":
    main()
