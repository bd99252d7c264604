"""MobileNetV2 inference on one image: minicnn vs Keras, side by side in one process.

    python benchmarks/bench_mobilenet.py            # 224x224, alpha 1.0, 15 interleaved rounds
    python benchmarks/bench_mobilenet.py --quick    # 96x96, alpha 0.35, 3 rounds (CI)

Both models have the same weights (minicnn's, written to a Keras weights file
and loaded by Keras), and their outputs are checked to agree before timing.
Each round times one ``predict`` of a single image in each engine (and
minicnn's layer-by-layer ``forward`` beside it), alternating, after warm-up
calls; the medians and the ratio
(minicnn / Keras, lower is faster) are printed and written to
``OUT/mobilenet.md`` and ``OUT/mobilenet.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from minicnn.bench import peers  # noqa: E402

from minicnn.applications import MobileNetV2  # noqa: E402
from minicnn.io import save_keras_weights  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small model, 3 rounds (CI)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    size, alpha = (96, 0.35) if args.quick else (224, 1.0)
    rounds = args.rounds or (3 if args.quick else 15)

    # Logits out (no softmax): with random weights the probabilities are all ~1/1000,
    # and a check on them would pass whatever the layers computed.
    model = MobileNetV2(input_shape=(size, size, 3), alpha=alpha, seed=0, classifier_activation=None)
    # BatchNorm statistics off their initial 0 and 1, so that signals do not fade to 0
    # over 52 layers and the agreement check below means something.
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            c = layer.gamma.value.shape
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c),
                               rng.normal(0, 0.1, c), rng.uniform(0.5, 1.5, c)])
    x = rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    # predict, as a user calls it (BatchNorm folded: minicnn/fast/folding.py), and
    # the same pass layer by layer (model.forward, what trace and the viz probes run)
    ours = lambda: model.predict(x, verbose=0)  # noqa: E731
    layer_by_layer = lambda: model.forward(x)  # noqa: E731
    ms = {"minicnn": [], "minicnn layer by layer": []}
    theirs = None
    if peers.keras_available():
        import keras
        km = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, weights=None,
                                            classifier_activation=None)
        with tempfile.TemporaryDirectory() as tmp:
            save_keras_weights(model, Path(tmp) / "m.weights.h5")
            km.load_weights(Path(tmp) / "m.weights.h5")
        logits = model.predict(x, verbose=0)
        diff = float(np.abs(km.predict_on_batch(x) - logits).max())
        print(f"outputs agree: max |Keras - minicnn| = {diff:.2e} (logits up to {np.abs(logits).max():.2f})")
        theirs = lambda: km.predict_on_batch(x)  # noqa: E731
        ms["keras"] = []
    for _ in range(3):  # warm-up: JIT compile, caches, TF graph tracing
        ours()
        layer_by_layer()
        if theirs:
            theirs()
    for _ in range(rounds):
        ms["minicnn"].append(timed(ours))
        ms["minicnn layer by layer"].append(timed(layer_by_layer))
        if theirs:
            ms["keras"].append(timed(theirs))

    median = {k: statistics.median(v) for k, v in ms.items()}
    ratio = median["minicnn"] / median["keras"] if "keras" in median else None
    lines = [f"MobileNetV2 alpha {alpha}, {size}x{size}, one image, median of {rounds} interleaved rounds",
             "", "| engine | ms per image | images/s |", "|---|---|---|"]
    for k, v in median.items():
        lines.append(f"| {k} | {v:.1f} | {1000 / v:.1f} |")
    if ratio is not None:
        lines += ["", f"ratio minicnn/Keras: {ratio:.2f} (lower is faster)"]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mobilenet.md").write_text(text + "\n\nversions: " + json.dumps(peers.versions()) + "\n")
    (out / "mobilenet.json").write_text(json.dumps(
        {"size": size, "alpha": alpha, "rounds": rounds, "ms": ms, "median_ms": median,
         "ratio": ratio, "versions": peers.versions()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
